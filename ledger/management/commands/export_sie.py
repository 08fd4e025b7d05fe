"""`manage.py export_sie --customer ID --from DATE --to DATE --output FILE`

Writes the customer's vouchers dated in the period (both days included) as a SIE 4I file."""

from __future__ import annotations

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import Customer
from ledger import sie
from ledger.models import Voucher


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Exports a customer's vouchers in a period as SIE 4I (CP437, #FORMAT PC8)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", type=int, required=True)
        parser.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD")
        parser.add_argument("--output", required=True, help="The file to write.")

    def handle(self, *args, **options):
        try:
            customer = Customer.objects.get(pk=options["customer"])
        except Customer.DoesNotExist as exc:
            raise CommandError(f"There is no customer {options['customer']}.") from exc
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_from > date_to:
            raise CommandError("--from is after --to.")
        content = sie.export(customer=customer, date_from=date_from, date_to=date_to)
        Path(options["output"]).write_bytes(content)
        count = Voucher.objects.filter(
            customer=customer, date__gte=date_from, date__lte=date_to
        ).count()
        self.stdout.write(f"{count} vouchers written to {options['output']}.")
