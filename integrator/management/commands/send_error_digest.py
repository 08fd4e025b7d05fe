"""`manage.py send_error_digest [--force] [--dry-run] [--hours N]`: the daily error digest to
support, by hand (the django-q2 schedule "Daily error digest to support" sends it at 07:00)."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone, translation

from integrator import notices


class Command(BaseCommand):
    help = "E-mails support what failed in the last 24 hours, per connector, with the likely fix."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Send even if today's digest went out already."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the digest instead of e-mailing it."
        )
        parser.add_argument(
            "--hours", type=int, default=24, help="Look back this many hours (--dry-run only)."
        )

    def handle(self, *args, force: bool, dry_run: bool, hours: int, **options):
        now = timezone.now()
        if dry_run:
            since = now - datetime.timedelta(hours=hours)
            with translation.override(settings.LANGUAGE_CODE), timezone.override(notices.STOCKHOLM):
                groups = notices.error_digest(since=since, until=now)
                if not groups:
                    self.stdout.write("Nothing failed.")
                    return
                subject, body = notices.render_error_digest(groups, since=since, until=now)
            self.stdout.write(subject + "\n\n" + body)
            return
        reported = notices.send_error_digest(now=now, force=force)
        if reported:
            self.stdout.write(
                f"Sent the digest of {reported} failure(s) to {settings.SUPPORT_EMAIL}."
            )
        else:
            self.stdout.write("Nothing sent: nothing failed, or today's digest went out already.")
