"""`manage.py import_settlement --connection ID [--provider P] [--json] FILE`

Imports a gateway's own settlement file (the format is recognised from the content; --provider
narrows the choice). Atomic: a malformed file is rejected with the row and field named, and
nothing is kept. The same file or payout twice is a no-op that says what was already there.
With --json, stdout is one line of JSON (an object, or a list with one object per currency);
messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ledger.importing import max_bytes
from ledger.parsers import PROVIDERS
from ledger.services import ImportRejected, payout_import
from shops.models import Connection


class Command(BaseCommand):
    help = "Imports a payment gateway's settlement file (payouts and their lines) and matches it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection", type=int, required=True, help="The gateway connection id."
        )
        parser.add_argument(
            "--provider", choices=PROVIDERS, help="Read the file as this gateway's."
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON summary.")
        parser.add_argument("file", help="The file to import, or - for standard input.")

    def handle(self, *args, **options):
        try:
            connection = Connection.objects.select_related("customer").get(pk=options["connection"])
        except Connection.DoesNotExist as exc:
            raise CommandError(f"There is no connection {options['connection']}.") from exc
        if options["file"] == "-":
            # One byte past the limit is enough for payout_import to refuse a file too large.
            source, name = sys.stdin.buffer.read(max_bytes() + 1), "stdin"
        else:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path} is not a file.")
            source, name = path, path.name
        try:
            result = payout_import(
                connection=connection, source=source, name=name, provider=options["provider"]
            )
        except ImportRejected as exc:
            raise CommandError(str(exc)) from exc
        messages = result.already + result.warnings
        if options["json"]:
            for message in messages:
                self.stderr.write(message)
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        for message in messages:
            self.stdout.write(message)
        for totals in result.totals:
            self.stdout.write(
                f"{totals.currency}: {totals.payouts} payouts, {totals.lines} lines "
                f"({totals.matched} matched, {totals.unmatched} unmatched); gross {totals.gross}, "
                f"fees {totals.fees}, net {totals.net}."
            )
        for payout in result.payouts:
            state = f" – {payout.note}" if payout.note else ""
            self.stdout.write(f"  {payout.reference}: {payout.get_status_display()}{state}")
