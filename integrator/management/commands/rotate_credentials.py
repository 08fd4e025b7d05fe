"""Re-encrypt everything kept encrypted at rest with the first key in CREDENTIALS_KEYS: the
connections' credentials and the status-page links. It lives in the project package because it
touches both apps (shops may not import the integrator)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from integrator.models import StatusPage
from shops import crypto
from shops.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypts all stored credentials and status-page links with the newest key. Rotation: "
        "put the new key first in CREDENTIALS_KEYS (keep the old one after it), run this, then "
        "remove the old key."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            connections = _rotate(Connection, "credentials_encrypted")
            links = _rotate(StatusPage, "token_encrypted")
        self.stdout.write(
            f"Re-encrypted the credentials of {connections} connection(s) "
            f"and {links} status-page link(s)."
        )


def _rotate(model, field: str) -> int:
    rotated = 0
    for row in model.objects.select_for_update().exclude(**{field: ""}):
        setattr(row, field, crypto.rotate(getattr(row, field)))
        row.save(update_fields=[field])
        rotated += 1
    return rotated
