"""PayPal: the Transaction Search API JSON (`/v1/reporting/transactions`,
`transaction_details[].transaction_info`) and the STL settlement file (CSV of RH/FH/SH/CH/SB/SF/
SC/RF/RC/FF records; unsigned amounts in minor units with CR/DR columns beside them).

PayPal keeps the merchant's money on a balance until it is withdrawn, so a "payout" here is one
statement period in one currency; withdrawals to the bank (T04nn) are lines of type payout, and
what they took out is the payout's bank amount. Types come from the T-codes (PayPal's "Transaction
event codes" reference): the event group (the two digits after the T) is what classifies.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TextIO

from ledger.parsers.base import (
    ZERO,
    Parsed,
    ParsedLine,
    ParsedPayout,
    ParseError,
    Parser,
    currency_code,
    day,
    dig,
    major,
    minor,
    moment,
    safe_rows,
    text,
)

# T11nn (reversals) and T12nn (adjustments) event types that are not plain adjustments.
REVERSALS = {
    "01": "payout",  # reversal of an ACH withdrawal: the money came back from the bank
    "05": "reserve_release",  # reversal of a general account hold
    "06": "chargeback",  # payment reversal initiated by PayPal
    "07": "refund",  # payment refund initiated by the merchant
    "08": "fee",  # fee reversal
    "10": "reserve_hold",  # hold for dispute investigation
    "11": "reserve_release",  # cancellation of a hold for dispute resolution
}
ADJUSTMENTS = {
    "01": "chargeback",
    "02": "dispute_reversal",
    "07": "chargeback",
    "08": "dispute_reversal",
}
NO_MONEY_GROUPS = {"13"}  # authorizations: they move nothing


def classify(code: str, amount: Decimal, *, row: int | str, field: str) -> str | None:
    """A T-code and the signed amount → ledger type; None for events that move no money."""
    code = code.strip().upper()
    if len(code) != 5 or code[0] != "T" or not code[1:].isdigit():
        raise ParseError(f"{code!r} is not a PayPal transaction event code.", row=row, field=field)
    group, event = code[1:3], code[3:5]
    if group in NO_MONEY_GROUPS:
        return None
    if group == "00":
        return "sale" if amount > 0 else "adjustment"
    if group == "01":
        return "fee"
    if group == "04":
        return "payout"
    if group == "11":
        return REVERSALS.get(event, "adjustment")
    if group == "12":
        return ADJUSTMENTS.get(event, "adjustment")
    if group in ("15", "21"):  # holds and releases, reserves
        return "reserve_hold" if amount < 0 else "reserve_release"
    return "adjustment"  # conversions, deposits, transfers, corrections, other


def figures(kind: str, gross: Decimal, fee_cost: Decimal) -> tuple[Decimal, Decimal]:
    """PayPal reports its non-payment fees (T01nn) in the gross column; the ledger holds fees as
    a positive cost beside a zero gross."""
    if kind == "fee":
        return ZERO, fee_cost - gross
    return gross, fee_cost


class PayPalJson(Parser):
    name, provider, label, is_json = (
        "paypal_json",
        "paypal",
        "PayPal Transaction Search (JSON)",
        True,
    )
    unique_transaction_ids = True

    def accepts(self, document: Any) -> bool:
        return isinstance(document, dict) and isinstance(document.get("transaction_details"), list)

    def parse_document(self, document: dict[str, Any]) -> Iterator[Parsed]:
        lines: dict[str, list[ParsedLine]] = {}
        for i, detail in enumerate(document["transaction_details"]):
            where = f"transaction_details[{i}]"
            info = dig(detail, "transaction_info")
            if not isinstance(info, dict):
                raise ParseError("is missing.", row=where, field="transaction_info")
            if info.get("transaction_status") not in (None, "S", "V"):
                continue  # pending or denied: not on the balance
            line = self._line(where, detail, info)
            if line is not None:
                lines.setdefault(line.currency, []).append(line)
        start, end = document.get("start_date"), document.get("end_date")
        for currency, members in lines.items():
            days = [m.occurred_at.date() for m in members if m.occurred_at]
            if not days and not (start and end):
                raise ParseError(
                    f"no {currency} transaction has a date and the file states no period "
                    "(start_date, end_date): the statement's period cannot be told.",
                    row=members[0].row,
                    field="transaction_initiation_date",
                )
            # The search period as PayPal wrote it (its dates, not ours).
            first = (
                day(str(start)[:10], row="start_date", field="start_date") if start else min(days)
            )
            last = day(str(end)[:10], row="end_date", field="end_date") if end else max(days)
            reference = f"{first}..{last} {currency}"
            yield ParsedPayout(
                reference=reference,
                payout_date=last,
                currency=currency,
                raw={k: v for k, v in document.items() if k != "transaction_details"},
            )
            for member in members:
                member.payout = reference
                yield member

    def _line(self, where: str, detail: dict[str, Any], info: dict[str, Any]) -> ParsedLine | None:
        amount = info.get("transaction_amount")
        if not isinstance(amount, dict):
            raise ParseError("is missing.", row=where, field="transaction_info.transaction_amount")
        currency = currency_code(
            amount.get("currency_code"), row=where, field="transaction_amount.currency_code"
        )
        gross = major(amount.get("value"), row=where, field="transaction_amount.value")
        fee_value = dig(info, "fee_amount", "value")
        fee_cost = -major(fee_value, row=where, field="fee_amount.value") if fee_value else ZERO
        kind = classify(
            text(info.get("transaction_event_code")) or "?",
            gross,
            row=where,
            field="transaction_event_code",
        )
        if kind is None:
            return None
        gross, fee = figures(kind, gross, fee_cost)
        when = info.get("transaction_initiation_date") or info.get("transaction_updated_date")
        country = dig(detail, "payer_info", "country_code") or dig(
            detail, "shipping_info", "address", "country_code"
        )
        return ParsedLine(
            payout="",
            row=where,
            type=kind,
            currency=currency,
            gross=gross,
            fee=fee,
            net=gross - fee,
            raw=detail,
            order_reference=text(info.get("invoice_id")),
            transaction_id=text(info.get("transaction_id")),
            related_transaction_id=text(info.get("paypal_reference_id")),
            occurred_at=moment(when, row=where, field="transaction_initiation_date")
            if when
            else None,
            country=text(country, 2).upper(),
        )


STL_COLUMNS = {
    "id": "Transaction ID",
    "invoice": "Invoice ID",
    "reference": "PayPal Reference ID",
    "code": "Transaction Event Code",
    "initiated": "Transaction Initiation Date",
    "completed": "Transaction Completion Date",
    "direction": "Transaction  Debit or Credit",  # two spaces, as PayPal spells it
    "gross": "Gross Transaction Amount",
    "currency": "Gross Transaction Currency",
    "fee_direction": "Fee Debit or Credit",
    "fee": "Fee Amount",
}


class PayPalStl(Parser):
    name, provider, label = "paypal_stl", "paypal", "PayPal settlement report (STL)"
    unique_transaction_ids = True

    def sniff(self, head: str) -> bool:
        first = head.lstrip("\ufeff").lstrip()
        return first.startswith('"RH"') or first.startswith("RH,")

    def parse_text(self, stream: TextIO) -> Iterator[Parsed]:
        reader = csv.reader(stream)
        columns: dict[str, int] = {}
        account = period = ""
        section_rows = report_rows = 0
        seen: set[str] = set()
        last_kind = ""
        for record in safe_rows(reader):
            row = reader.line_num
            if not record or not any(c.strip() for c in record):
                continue
            kind = record[0].strip().upper()
            if row == 1 and kind != "RH":
                raise ParseError(
                    "an STL file starts with an RH record.", row=row, field="record type"
                )
            if last_kind == "FF":
                raise ParseError("comes after the file footer (FF).", row=row, field="record type")
            last_kind = kind
            if kind == "RH" and len(record) > 3:
                account = record[3].strip()
            elif kind == "SH":
                if len(record) < 3:
                    raise ParseError("needs a start and an end date.", row=row, field="SH")
                start = day(record[1], row=row, field="section start")
                end = day(record[2], row=row, field="section end")
                account = (record[3].strip() if len(record) > 3 else "") or account
                period, section_rows = f"{start}..{end}", 0
            elif kind == "CH":
                columns = {name: i for i, name in enumerate(record)}
                missing = [c for c in STL_COLUMNS.values() if c not in columns]
                if missing:
                    raise ParseError(
                        "is missing from the column header.", row=row, field=missing[0]
                    )
            elif kind == "SB":
                if not columns or not period:
                    raise ParseError("comes before its SH and CH records.", row=row, field="SB")
                section_rows += 1
                report_rows += 1
                line = self._line(record, row, columns)
                if line is None:
                    continue
                reference = f"STL {account} {period} {line.currency}".strip()
                if reference not in seen:
                    seen.add(reference)
                    yield ParsedPayout(
                        reference=reference,
                        payout_date=day(period.split("..")[1], row=row, field="section end"),
                        currency=line.currency,
                        raw={"account": account, "period": period},
                    )
                line.payout = reference
                yield line
            elif kind in ("SC", "RC"):
                counted = section_rows if kind == "SC" else report_rows
                stated = record[1].strip() if len(record) > 1 else ""
                if not stated.isdigit() or int(stated) != counted:
                    raise ParseError(
                        f"says {stated or 'nothing'} body rows, the file has {counted}: "
                        "it is truncated or was edited.",
                        row=row,
                        field=f"{kind} record count",
                    )
            elif kind not in ("FH", "SF", "RF", "FF"):
                raise ParseError(
                    f"{kind!r} is not an STL record type.", row=row, field="record type"
                )
        if last_kind != "FF":
            raise ParseError(
                "the file ends before its file footer (FF): it is truncated.", row="end"
            )

    def _line(self, record: list[str], row: int, columns: dict[str, int]) -> ParsedLine | None:
        def cell(key: str) -> str:
            index = columns[STL_COLUMNS[key]]
            return record[index].strip() if index < len(record) else ""

        currency = currency_code(cell("currency"), row=row, field=STL_COLUMNS["currency"])
        amount = minor(cell("gross"), currency, row=row, field=STL_COLUMNS["gross"])
        amount = _directed(amount, cell("direction"), row=row, field=STL_COLUMNS["direction"])
        fee = minor(cell("fee") or "0", currency, row=row, field=STL_COLUMNS["fee"])
        # A fee PayPal took (DR) is a cost; one it gave back (CR) is a negative cost.
        fee_cost = -_directed(
            fee, cell("fee_direction") or "DR", row=row, field=STL_COLUMNS["fee_direction"]
        )
        kind = classify(cell("code"), amount, row=row, field=STL_COLUMNS["code"])
        if kind is None:
            return None
        gross, fee_cost = figures(kind, amount, fee_cost)
        when = cell("completed") or cell("initiated")
        return ParsedLine(
            payout="",
            row=row,
            type=kind,
            currency=currency,
            gross=gross,
            fee=fee_cost,
            net=gross - fee_cost,
            raw={name: record[i] for name, i in columns.items() if 0 < i < len(record)},
            order_reference=cell("invoice"),
            transaction_id=cell("id"),
            related_transaction_id=cell("reference"),
            occurred_at=moment(when, row=row, field=STL_COLUMNS["completed"]) if when else None,
        )


def _directed(amount: Decimal, direction: str, *, row: int, field: str) -> Decimal:
    direction = direction.strip().upper()
    if direction not in ("CR", "DR"):
        raise ParseError(f"{direction!r} should be CR or DR.", row=row, field=field)
    return amount if direction == "CR" else -amount
