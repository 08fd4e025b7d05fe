"""`python manage.py billing_run --month YYYY-MM [--json]`: one fee invoice per customer for the
month. Running it again creates nothing new: an invoice that exists is reported, not rebuilt."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.invoicing import run_month


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError as exc:
        raise CommandError(f"--month must look like 2026-03, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Create the fee invoices for one month (idempotent per customer and month)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="The month to bill, YYYY-MM.")
        parser.add_argument("--json", action="store_true", help="Print a one-line JSON summary.")

    def handle(self, *args: Any, **options: Any) -> None:
        month = _month(options["month"])
        results = run_month(month)
        invoices = [
            {
                "customer": customer.pk,
                "customer_name": customer.name,
                "number": invoice.number,
                "created": created,
                "subtotal": str(invoice.subtotal),
                "vat": str(invoice.vat),
                "total": str(invoice.total),
            }
            for customer, invoice, created in results
            if invoice is not None
        ]
        summary = {
            "month": f"{month:%Y-%m}",
            "created": sum(1 for row in invoices if row["created"]),
            "existing": sum(1 for row in invoices if not row["created"]),
            "nothing_to_bill": sum(1 for _c, invoice, _n in results if invoice is None),
            "subtotal": str(sum((Decimal(row["subtotal"]) for row in invoices), Decimal("0.00"))),
            "vat": str(sum((Decimal(row["vat"]) for row in invoices), Decimal("0.00"))),
            "total": str(sum((Decimal(row["total"]) for row in invoices), Decimal("0.00"))),
            "invoices": invoices,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        for row in invoices:
            state = "created" if row["created"] else "exists "
            self.stdout.write(
                f"{state} {row['number']}  {row['customer_name']}: {row['subtotal']} + VAT "
                f"{row['vat']} = {row['total']} SEK"
            )
        self.stdout.write(
            f"{summary['month']}: {summary['created']} created, {summary['existing']} already "
            f"there, {summary['nothing_to_bill']} with nothing to bill; "
            f"total {summary['total']} SEK"
        )
