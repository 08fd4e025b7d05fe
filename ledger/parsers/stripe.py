"""Stripe: balance transactions JSON (the `list` object from `GET /v1/balance_transactions
?payout=po_…`, minor units, signed) and the report CSVs (itemized payout reconciliation and
balance change from activity; decimal amounts in major units; header-driven, so optional
columns such as `automatic_payout_id` or `payment_metadata[order_id]` may or may not be there).

A file tied to payouts (a `?payout=` list with its payout transaction, or a report with
`automatic_payout_id`) gives one payout per Stripe payout. Without that, the file is a balance
statement: one "payout" per currency for the period, and the payouts inside it are lines.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TextIO

from ledger.parsers.base import (
    STOCKHOLM,
    ZERO,
    Parsed,
    ParsedLine,
    ParsedPayout,
    ParseError,
    Parser,
    currency_code,
    day,
    delimiter_of,
    dig,
    first_line,
    header_names,
    major,
    minor,
    moment,
    safe_rows,
    text,
)

# reporting_category (or, in older objects, type) → ledger type.
CATEGORIES = {
    "charge": "sale",
    "payment": "sale",
    "refund": "refund",
    "payment_refund": "refund",
    "refund_failure": "refund",
    "payment_failure_refund": "refund",
    "partial_capture_reversal": "refund",
    "dispute": "chargeback",
    "dispute_reversal": "dispute_reversal",
    "fee": "fee",
    "stripe_fee": "fee",
    "application_fee": "fee",
    "network_cost": "fee",
    "tax_fee": "fee",
    "stripe_fx_fee": "fee",
    "tax": "fee_vat",
    "payout": "payout",
    "payout_reversal": "payout",
    "payout_failure": "payout",
    "payout_cancel": "payout",
    "payout_minimum_balance_hold": "reserve_hold",
    "payout_minimum_balance_release": "reserve_release",
}
RESERVES = {
    "risk_reserved_funds",
    "reserve_transaction",
    "reserved_funds",
    "payment_network_reserve_hold",
    "payment_network_reserve_release",
}
ORDER_METADATA_KEYS = ("order_id", "order_number", "ordernumber", "order_no", "order", "orderid")
FEE_TYPES = ("fee", "fee_vat")


def _kind(category: str, amount: Decimal) -> str:
    if category in RESERVES:
        return "reserve_hold" if amount < 0 else "reserve_release"
    return CATEGORIES.get(category, "adjustment")


def _figures(kind: str, gross: Decimal, fee: Decimal, net: Decimal) -> tuple[Decimal, Decimal]:
    """Stripe books its own fees as negative amounts; the ledger holds them as a positive cost."""
    if kind in FEE_TYPES:
        return ZERO, fee - gross
    return gross, fee


def _order_from_metadata(metadata: Any) -> str:
    if not isinstance(metadata, dict):
        return ""
    lowered = {str(k).lower(): v for k, v in metadata.items()}
    return next((text(lowered[k]) for k in ORDER_METADATA_KEYS if lowered.get(k)), "")


class StripeJson(Parser):
    name, provider, label, is_json = (
        "stripe_json",
        "stripe",
        "Stripe balance transactions (JSON)",
        True,
    )
    unique_transaction_ids = True

    def accepts(self, document: Any) -> bool:
        if not isinstance(document, dict) or document.get("object") != "list":
            return False
        data = document.get("data")
        return isinstance(data, list) and (
            not data
            or (isinstance(data[0], dict) and data[0].get("object") == "balance_transaction")
        )

    def parse_document(self, document: dict[str, Any]) -> Iterator[Parsed]:
        data = document.get("data")
        if not isinstance(data, list):
            raise ParseError("should be a list.", row="data")
        items = []
        for i, item in enumerate(data):
            if not isinstance(item, dict):
                raise ParseError("should be an object.", row=f"data[{i}]")
            items.append((f"data[{i}]", item))
        payouts = [(w, t) for w, t in items if t.get("type") == "payout"]
        if len(payouts) == 1 and str(_source_id(payouts[0][1])).startswith("po_"):
            where, payout = payouts[0]
            currency = currency_code(payout.get("currency"), row=where, field="currency")
            reference = _source_id(payout)
            yield ParsedPayout(
                reference=reference,
                payout_date=day(
                    payout.get("available_on") or payout.get("created"),
                    row=where,
                    field="available_on",
                ),
                currency=currency,
                stated_net=-minor(payout.get("amount"), currency, row=where, field="amount"),
                raw=payout,
            )
            for where, item in items:
                if item is not payout:
                    yield self._line(reference, where, item)
            return
        # A balance history without one payout to tie it to: one period per currency.
        periods: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for where, item in items:
            currency = currency_code(item.get("currency"), row=where, field="currency")
            periods.setdefault(currency, []).append((where, item))
        for currency, members in periods.items():
            days = [day(t.get("created"), row=w, field="created") for w, t in members]
            reference = f"{min(days)}..{max(days)} {currency}"
            yield ParsedPayout(reference=reference, payout_date=max(days), currency=currency)
            for where, item in members:
                yield self._line(reference, where, item)

    def _line(self, reference: str, where: str, item: dict[str, Any]) -> ParsedLine:
        currency = currency_code(item.get("currency"), row=where, field="currency")
        amount = minor(item.get("amount"), currency, row=where, field="amount")
        fee = minor(item.get("fee", 0), currency, row=where, field="fee")
        net = minor(item.get("net"), currency, row=where, field="net")
        category = text(item.get("reporting_category") or item.get("type"))
        kind = _kind(category, amount)
        gross, fee = _figures(kind, amount, fee, net)
        source = item.get("source")
        source_object = source if isinstance(source, dict) else {}
        charge = source_object.get("charge")
        return ParsedLine(
            payout=reference,
            row=where,
            type=kind,
            currency=currency,
            gross=gross,
            fee=fee,
            net=net,
            raw=item,
            order_reference=_order_from_metadata(source_object.get("metadata"))
            or _order_from_metadata(item.get("metadata")),
            transaction_id=text(_source_id(item) or item.get("id")),
            related_transaction_id=text(charge.get("id") if isinstance(charge, dict) else charge),
            occurred_at=moment(item["created"], row=where, field="created")
            if item.get("created")
            else None,
            country=text(dig(source_object, "billing_details", "address", "country"), 2).upper(),
        )


def _source_id(item: dict[str, Any]) -> str:
    source = item.get("source")
    return text(source.get("id") if isinstance(source, dict) else source)


class StripeCsv(Parser):
    name, provider, label = (
        "stripe_csv",
        "stripe",
        "Stripe payout reconciliation / balance report (CSV)",
    )
    unique_transaction_ids = True

    def sniff(self, head: str) -> bool:
        names = set(header_names(head))
        return {"balance_transaction_id", "reporting_category", "net"} <= names

    def parse_text(self, stream: TextIO) -> Iterator[Parsed]:
        delimiter = delimiter_of(first_line(stream.readline()))
        stream.seek(0)
        header = next(safe_rows(csv.reader(stream, delimiter=delimiter)), [])
        fields = [f.strip().lstrip("\ufeff") for f in header]
        for required in ("balance_transaction_id", "currency", "gross", "fee", "net"):
            if required not in fields:
                raise ParseError("is missing from the header.", row=1, field=required)
        by_payout = "automatic_payout_id" in fields
        periods = {} if by_payout else self._periods(stream, delimiter, fields)
        stream.seek(0)
        reader = csv.DictReader(stream, delimiter=delimiter, fieldnames=fields)
        next(safe_rows(reader), None)  # the header
        seen: set[str] = set()
        for record in safe_rows(reader):
            line_no = reader.line_num
            if None in record or any(v is None for v in record.values()):
                raise ParseError("does not have as many fields as the header.", row=line_no)
            currency = currency_code(record["currency"], row=line_no, field="currency")
            if by_payout:
                reference = text(record.get("automatic_payout_id"))
                if not reference:
                    raise ParseError("is empty.", row=line_no, field="automatic_payout_id")
                if reference not in seen:
                    seen.add(reference)
                    effective = record.get("automatic_payout_effective_at") or record.get(
                        "automatic_payout_effective_at_utc"
                    )
                    yield ParsedPayout(
                        reference=reference,
                        payout_date=day(
                            effective or _created(record)[0],
                            row=line_no,
                            field="automatic_payout_effective_at",
                        ),
                        currency=currency,
                    )
            else:
                reference = periods[currency]
                if reference not in seen:
                    seen.add(reference)
                    yield ParsedPayout(
                        reference=reference,
                        payout_date=day(
                            reference.split("..")[1][:10], row=line_no, field="created"
                        ),
                        currency=currency,
                    )
            yield self._line(reference, line_no, record, currency)

    def _periods(self, stream: TextIO, delimiter: str, fields: list[str]) -> dict[str, str]:
        """First pass of a balance report: the days it covers, per currency."""
        spans: dict[str, list[Any]] = {}
        reader = csv.DictReader(stream, delimiter=delimiter, fieldnames=fields)
        for record in safe_rows(reader):
            row = reader.line_num
            currency = currency_code(record.get("currency"), row=row, field="currency")
            value, zone = _created(record)
            when = moment(value, row=row, field="created", tz=zone).date()
            span = spans.setdefault(currency, [when, when])
            span[0], span[1] = min(span[0], when), max(span[1], when)
        return {c: f"{lo}..{hi} {c}" for c, (lo, hi) in spans.items()}

    def _line(self, reference: str, row: int, record: dict[str, str], currency: str) -> ParsedLine:
        gross = major(record["gross"], row=row, field="gross")
        fee = major(record["fee"] or "0", row=row, field="fee")
        net = major(record["net"], row=row, field="net")
        kind = _kind(text(record.get("reporting_category")), gross)
        gross, fee = _figures(kind, gross, fee, net)
        metadata = {
            key[len(prefix) : -1]: value
            for key, value in record.items()
            for prefix in ("payment_metadata[", "refund_metadata[")
            if key.startswith(prefix) and key.endswith("]") and value
        }
        created, zone = _created(record)
        return ParsedLine(
            payout=reference,
            row=row,
            type=kind,
            currency=currency,
            gross=gross,
            fee=fee,
            net=net,
            raw=record,
            order_reference=_order_from_metadata(metadata) or text(record.get("order_id")),
            transaction_id=text(record.get("source_id") or record.get("balance_transaction_id")),
            related_transaction_id=text(record.get("charge_id")) if kind != "sale" else "",
            occurred_at=moment(created, row=row, field="created", tz=zone) if created else None,
            country=text(
                record.get("shipping_address_country") or record.get("card_country"), 2
            ).upper(),
        )


def _created(record: dict[str, str]) -> tuple[str, datetime.tzinfo]:
    """When the transaction happened: `created_utc` in UTC, or `created` in the report's zone
    (Stockholm for our merchants)."""
    if record.get("created_utc"):
        return record["created_utc"], datetime.UTC
    return record.get("created") or "", STOCKHOLM
