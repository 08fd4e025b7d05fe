"""Re-encrypt every connection's credentials with the first key in CREDENTIALS_KEYS."""

from django.core.management.base import BaseCommand
from django.db import transaction

from shops import crypto
from shops.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypts all stored credentials with the newest key. Rotation: put the new key first "
        "in CREDENTIALS_KEYS (keep the old one after it), run this, then remove the old key."
    )

    def handle(self, *args, **options):
        rotated = 0
        with transaction.atomic():
            for connection in Connection.objects.select_for_update().exclude(
                credentials_encrypted=""
            ):
                connection.credentials_encrypted = crypto.rotate(connection.credentials_encrypted)
                connection.save(update_fields=["credentials_encrypted"])
                rotated += 1
        self.stdout.write(f"Re-encrypted the credentials of {rotated} connection(s).")
