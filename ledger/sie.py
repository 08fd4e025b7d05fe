"""SIE 4I: the Swedish standard file for moving vouchers between accounting programs, for the
accountant and for audits. CP437 ("#FORMAT PC8"), CRLF line ends, the identification records,
the accounts used, then one balanced #VER with its #TRANS rows per voucher."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import QuerySet

from billing.export_formats import spreadsheet_safe
from billing.models import Customer
from ledger.accounts import BAS_NAMES
from ledger.models import Voucher

PROGRAM = ("Integrator", "1.0")


def quote(value: str) -> str:
    """A SIE string: in quotes, with quotes and backslashes escaped and control characters out;
    text that a spreadsheet would run as a formula (accountants open these files in Excel too)
    starts with an apostrophe."""
    cleaned = spreadsheet_safe("".join(ch for ch in str(value) if ch >= " " and ch != "\x7f"))
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def day(value: datetime.date) -> str:
    return value.strftime("%Y%m%d")


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def records(
    *,
    customer: Customer,
    vouchers: Iterable[Voucher],
    date_from: datetime.date,
    date_to: datetime.date,
    generated: datetime.date,
) -> list[str]:
    vouchers = list(vouchers)
    accounts = sorted({row.account for v in vouchers for row in v.rows.all()})
    lines = [
        "#FLAGGA 0",
        f"#PROGRAM {quote(PROGRAM[0])} {quote(PROGRAM[1])}",
        "#FORMAT PC8",
        f"#GEN {day(generated)}",
        "#SIETYP 4",
        f"#PROSA {quote(f'Verifikationer {date_from:%Y-%m-%d} - {date_to:%Y-%m-%d}')}",
    ]
    if customer.organisation_number:
        lines.append(f"#ORGNR {customer.organisation_number}")
    lines.append(f"#FNAMN {quote(customer.name)}")
    years = sorted({date_to.year, date_from.year}, reverse=True)
    for index, year in enumerate(years):
        lines.append(f"#RAR {-index} {year}0101 {year}1231")
    for account in accounts:
        lines.append(f"#KONTO {account} {quote(BAS_NAMES.get(account, account))}")
    for voucher in vouchers:
        rows = list(voucher.rows.all())
        if sum((r.amount for r in rows), Decimal("0")) != 0:
            raise ValueError(f"Voucher {voucher} does not balance; it cannot be exported.")
        lines.append(
            f"#VER {quote(voucher.series)} {quote(str(voucher.pk))} {day(voucher.date)} "
            f"{quote(voucher.text)} {day(voucher.created_at.date())}"
        )
        lines.append("{")
        for row in rows:
            text = f' "" {quote(row.text)}' if row.text else ""
            lines.append(f"   #TRANS {row.account} {{}} {amount(row.amount)}{text}")
        lines.append("}")
    return lines


def export(
    *,
    customer: Customer,
    date_from: datetime.date,
    date_to: datetime.date,
    generated: datetime.date | None = None,
) -> bytes:
    vouchers: QuerySet[Voucher] = (
        Voucher.objects.filter(customer=customer, date__gte=date_from, date__lte=date_to)
        .order_by("date", "pk")
        .prefetch_related("rows")
    )
    lines = records(
        customer=customer,
        vouchers=vouchers,
        date_from=date_from,
        date_to=date_to,
        generated=generated or datetime.date.today(),
    )
    return ("\r\n".join(lines) + "\r\n").encode("cp437", errors="replace")
