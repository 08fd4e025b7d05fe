"""Klarna: the Settlements API v1 JSON (payouts with `totals`, transactions in minor units) and
the payout-with-transactions CSV report (a summary section, a blank line, then the transactions;
decimal amounts; `;` or `,` as the delimiter).

Klarna gives every transaction as a positive amount and its direction by type (the settlement
formula in Klarna's settlement-report docs: + sale − return − reversal − fee …), so the sign is
set here from the type. `merchant_reference1` is the merchant's order number. Amounts that only
exist in the totals (repayment of debt to Klarna, a new debt, fee corrections) become lines of
their own, so the lines explain the whole settlement amount.
"""

from __future__ import annotations

import csv
from collections import defaultdict
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
    as_list,
    currency_code,
    day,
    delimiter_of,
    first_line,
    header_names,
    major,
    minor,
    moment,
    safe_rows,
    text,
)

SALE, REFUND, FEE, FEE_VAT = "sale", "refund", "fee", "fee_vat"
CHARGEBACK, DISPUTE_REVERSAL, ADJUSTMENT = "chargeback", "dispute_reversal", "adjustment"
HOLD, RELEASE, DEBT = "reserve_hold", "reserve_release", "debt"

# Klarna type → (ledger type, direction, whether the amount is a fee). Direction 0: as given.
TYPES: dict[str, tuple[str, int, bool]] = {
    "SALE": (SALE, 1, False),
    "RETURN": (REFUND, -1, False),
    "REVERSAL": (CHARGEBACK, -1, False),
    "REVERSAL_MERCHANT_PROTECTION": (DISPUTE_REVERSAL, 1, False),
    "FEE": (FEE, -1, True),
    "FEE_REFUND": (FEE, 1, True),
    "CHARGE": (FEE, -1, True),
    "TAX": (FEE_VAT, -1, True),
    "COMMISSION": (ADJUSTMENT, 1, False),
    "CREDIT": (ADJUSTMENT, 1, False),
    "CORRECTION": (ADJUSTMENT, 0, False),
    "HOLDBACK": (HOLD, -1, False),
    "RELEASE": (RELEASE, 1, False),
}

# Totals that no transaction carries: (field without "total_"/"_amount" noise, type, direction).
TOTALS_ONLY = [
    ("repay_amount", DEBT, -1, False, "Repayment of earlier debt to Klarna"),
    ("deposit_amount", DEBT, 1, False, "New debt to Klarna (returns and fees exceeded sales)"),
    ("fee_correction_amount", FEE, 1, True, "Fee correction"),
]


def _line(
    *,
    payout: str,
    row: int | str,
    klarna_type: str,
    amount: Decimal,
    currency: str,
    raw: dict[str, Any],
) -> ParsedLine:
    if klarna_type not in TYPES:
        raise ParseError(
            f"{klarna_type!r} is not a Klarna transaction type.", row=row, field="type"
        )
    kind, direction, is_fee = TYPES[klarna_type]
    if direction != 0 and amount < 0:
        # Flipping it would book the opposite of what the file says without a word.
        raise ParseError(
            f"{raw.get('amount')!r} is negative, but Klarna gives a {klarna_type} as a positive "
            "amount (its type says which way the money goes).",
            row=row,
            field="amount",
        )
    signed = amount if direction == 0 else direction * amount
    gross, fee = (ZERO, -signed) if is_fee else (signed, ZERO)
    occurred = raw.get("capture_date") or raw.get("sale_date")
    return ParsedLine(
        payout=payout,
        row=row,
        type=kind,
        currency=currency,
        gross=gross + ZERO,
        fee=fee + ZERO,
        net=signed,
        raw=raw,
        order_reference=text(raw.get("merchant_reference1")),
        transaction_id=text(raw.get("capture_id") or raw.get("refund_id")),
        occurred_at=moment(occurred, row=row, field="capture_date") if occurred else None,
        country=text(raw.get("purchase_country"), 2).upper(),
    )


def _totals_lines(
    payout: str, currency: str, row: int | str, totals: dict[str, Decimal], has_tax: bool
) -> Iterator[ParsedLine]:
    wanted = list(TOTALS_ONLY)
    if not has_tax:
        wanted.append(("tax_amount", FEE_VAT, -1, True, "VAT on Klarna fees"))
    for key, kind, direction, is_fee, note in wanted:
        amount = totals.get(key, ZERO)
        if not amount:
            continue
        signed = direction * abs(amount)
        yield ParsedLine(
            payout=payout,
            row=row,
            type=kind,
            currency=currency,
            gross=ZERO if is_fee else signed,
            fee=-signed if is_fee else ZERO,
            net=signed,
            raw={f"totals.{key}": str(amount)},
            note=note,
        )


class KlarnaJson(Parser):
    name, provider, label, is_json = "klarna_json", "klarna", "Klarna Settlements API (JSON)", True

    def accepts(self, document: Any) -> bool:
        if not isinstance(document, dict):
            return False
        if "totals" in document and "payment_reference" in document:
            return True
        payouts, transactions = document.get("payouts"), document.get("transactions")
        if isinstance(payouts, list) and payouts and isinstance(payouts[0], dict):
            return "payment_reference" in payouts[0]
        if isinstance(transactions, list) and transactions and isinstance(transactions[0], dict):
            return "capture_date" in transactions[0] or "merchant_reference1" in transactions[0]
        return False

    def parse_document(self, document: dict[str, Any]) -> Iterator[Parsed]:
        if "totals" in document and "payment_reference" in document:
            payouts = [document]
        else:
            payouts = as_list(document.get("payouts", []), where="payouts")
        transactions = document.get("transactions")
        transactions = (
            as_list(transactions, where="transactions") if isinstance(transactions, list) else []
        )
        by_payout: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for i, item in enumerate(transactions):
            where = f"transactions[{i}]"
            if not isinstance(item, dict):
                raise ParseError("should be an object.", row=where)
            reference = text(item.get("payment_reference"))
            if not reference and len(payouts) == 1:
                reference = text(payouts[0].get("payment_reference"))
            if not reference:
                raise ParseError("is missing.", row=where, field="payment_reference")
            by_payout[reference].append((where, item))
        for i, payout in enumerate(payouts):
            where = f"payouts[{i}]"
            if not isinstance(payout, dict):
                raise ParseError("should be an object.", row=where)
            reference = text(payout.get("payment_reference"))
            if not reference:
                raise ParseError("is missing.", row=where, field="payment_reference")
            currency = currency_code(payout.get("currency_code"), row=where, field="currency_code")
            totals_raw = payout.get("totals")
            if not isinstance(totals_raw, dict):
                raise ParseError("is missing.", row=where, field="totals")
            totals = {
                key: minor(value, currency, row=where, field=f"totals.{key}")
                for key, value in totals_raw.items()
                if value is not None
            }
            if "settlement_amount" not in totals:
                raise ParseError("is missing.", row=where, field="totals.settlement_amount")
            yield ParsedPayout(
                reference=reference,
                payout_date=day(payout.get("payout_date"), row=where, field="payout_date"),
                currency=currency,
                stated_net=totals["settlement_amount"],
                raw={k: v for k, v in payout.items() if k != "transactions"},
            )
            items = by_payout.pop(reference, [])
            yield from self._transactions(reference, items)
            has_tax = any(text(t.get("type")).upper() == "TAX" for _w, t in items)
            yield from _totals_lines(reference, currency, where, totals, has_tax)
        for reference, items in by_payout.items():  # transactions of payouts not in the file
            yield from self._transactions(reference, items)

    def _transactions(self, reference: str, items: list[tuple[str, dict[str, Any]]]):
        for where, item in items:
            currency = currency_code(item.get("currency_code"), row=where, field="currency_code")
            amount = minor(item.get("amount"), currency, row=where, field="amount")
            yield _line(
                payout=reference,
                row=where,
                klarna_type=text(item.get("type")).upper(),
                amount=amount,
                currency=currency,
                raw=item,
            )


class KlarnaCsv(Parser):
    name, provider, label = "klarna_csv", "klarna", "Klarna payout report with transactions (CSV)"

    def sniff(self, head: str) -> bool:
        names = set(header_names(head))
        return "total_settlement_amount" in names or (
            {"type", "amount"} <= names
            and ("merchant_reference1" in names or "capture_id" in names)
        )

    def parse_text(self, stream: TextIO) -> Iterator[Parsed]:
        reader = csv.reader(stream, delimiter=delimiter_of(first_line(stream.readline() or "")))
        stream.seek(0)
        header: list[str] | None = None
        summaries: dict[str, tuple[str, int, dict[str, Decimal]]] = {}
        tax_seen: set[str] = set()
        with_rows: set[str] = set()
        only_payout = ""
        for row in safe_rows(reader):
            line_no = reader.line_num
            if not any(cell.strip() for cell in row):
                header = None  # a blank line ends a section
                continue
            if header is None:
                header = [h.strip().lstrip("\ufeff").strip('"') for h in row]
                if "total_settlement_amount" not in header and not {"type", "amount"} <= set(
                    header
                ):
                    raise ParseError(
                        "is not a Klarna summary or transaction header.",
                        row=line_no,
                        field="header",
                    )
                continue
            if len(row) != len(header):
                raise ParseError(
                    f"has {len(row)} fields, the header has {len(header)}.", row=line_no
                )
            record = dict(zip(header, (cell.strip() for cell in row), strict=True))
            # Klarna's "payout with transactions" report repeats the payout's summary columns on
            # every transaction row: the summary then counts once, and the row is a transaction.
            combined = "total_settlement_amount" in header and {"type", "amount"} <= set(header)
            repeated = combined and record.get("payment_reference") in summaries
            if "total_settlement_amount" in header and not repeated:
                payout = self._summary(record, line_no)
                totals = {
                    k.removeprefix("total_"): major(v, row=line_no, field=k)
                    for k, v in record.items()
                    if k.startswith("total_") and v != ""
                }
                summaries[payout.reference] = (payout.currency, line_no, totals)
                only_payout = payout.reference if len(summaries) == 1 else ""
                yield payout
                if not combined:
                    continue
            reference = record.get("payment_reference") or only_payout
            if not reference:
                raise ParseError(
                    "is missing and the file has no single payout summary.",
                    row=line_no,
                    field="payment_reference",
                )
            currency_field = "posting_currency" if "posting_currency" in record else "currency_code"
            currency = currency_code(record.get(currency_field), row=line_no, field=currency_field)
            klarna_type = text(record.get("type")).upper()
            with_rows.add(reference)
            if klarna_type == "TAX":
                tax_seen.add(reference)
            yield _line(
                payout=reference,
                row=line_no,
                klarna_type=klarna_type,
                amount=major(record.get("amount"), row=line_no, field="amount"),
                currency=currency,
                raw=record,
            )
        for reference, (currency, line_no, totals) in summaries.items():
            if reference not in with_rows and totals.get("settlement_amount"):
                raise ParseError(
                    f"payout {reference} states {totals['settlement_amount']}, but the file has "
                    "none of its transactions: it is cut short.",
                    row=line_no,
                    field="total_settlement_amount",
                )
            yield from _totals_lines(reference, currency, line_no, totals, reference in tax_seen)

    def _summary(self, record: dict[str, str], line_no: int) -> ParsedPayout:
        reference = record.get("payment_reference", "")
        if not reference:
            raise ParseError("is missing.", row=line_no, field="payment_reference")
        date_field = next(
            (f for f in ("payout_date", "payment_date", "settlement_date") if record.get(f)), ""
        )
        if not date_field:
            raise ParseError("is missing.", row=line_no, field="payout_date")
        return ParsedPayout(
            reference=reference,
            payout_date=day(record[date_field], row=line_no, field=date_field),
            currency=currency_code(record.get("currency_code"), row=line_no, field="currency_code"),
            stated_net=major(
                record.get("total_settlement_amount"), row=line_no, field="total_settlement_amount"
            ),
            raw=record,
        )
