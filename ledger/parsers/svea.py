"""Svea: the Payment Admin API's reconciliation report (`GET /api/v2/reports?date=…`), "the
Svea payout to the merchant's bank account on a specific date and the transactions included in
the payout". The merchant's order number is `externalOrderNo`.

As with Nets, we had no stored response body to check every field against, so names are read
tolerantly (camelCase or PascalCase; rows at the top, or grouped per payment type); amounts are
decimal numbers in major units (kronor), and their direction comes from the row type.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ledger.parsers.base import (
    ZERO,
    Parsed,
    ParsedLine,
    ParsedPayout,
    ParseError,
    Parser,
    currency_code,
    day,
    major,
    moment,
    text,
)

CENT = Decimal("0.01")

TYPES = {
    "payment": ("sale", 1),
    "purchase": ("sale", 1),
    "invoice": ("sale", 1),
    "capture": ("sale", 1),
    "delivery": ("sale", 1),
    "betalning": ("sale", 1),
    "credit": ("refund", -1),
    "refund": ("refund", -1),
    "kreditering": ("refund", -1),
    "fee": ("fee", -1),
    "avgift": ("fee", -1),
    "administrationfee": ("fee", -1),
    "transactionfee": ("fee", -1),
    "withholding": ("reserve_hold", -1),
    "reserve": ("reserve_hold", -1),
    "release": ("reserve_release", 1),
    "chargeback": ("chargeback", -1),
    "adjustment": ("adjustment", 0),
    "correction": ("adjustment", 0),
    "debt": ("debt", 0),
}


def get(mapping: dict[str, Any], *names: str) -> tuple[str, Any]:
    """The first of `names` present, in camelCase or PascalCase."""
    for name in names:
        for key in (name, name[:1].upper() + name[1:]):
            if mapping.get(key) not in (None, ""):
                return key, mapping[key]
    return names[0], None


class SveaJson(Parser):
    name, provider, label, is_json = "svea_json", "svea", "Svea payment admin report (JSON)", True

    def accepts(self, document: Any) -> bool:
        return "externalorderno" in _keys(document, depth=6)

    def parse_document(self, document: Any) -> Iterator[Parsed]:
        header = document if isinstance(document, dict) else {}
        payout_part = get(header, "payout")[1]
        payout_info = payout_part if isinstance(payout_part, dict) else header
        rows = list(self._rows(document, "report"))
        if not rows:
            raise ParseError("the report has no rows.", row="rows")
        # Svea's Payment Admin API gives amounts as integers in minor units (öre); reports saved
        # from elsewhere carry decimals in kronor. Whole numbers everywhere mean minor units.
        self.minor_units = all(
            _whole(get(row, "amount", "amountIncVat", "grossAmount")[1]) for _where, row in rows
        ) and _whole(get(payout_info, "payoutAmount", "totalAmount", "amount", "netAmount")[1])
        currency_key, currency_value = get(payout_info, "currency")
        currency = currency_code(
            currency_value or get(rows[0][1], "currency")[1] or "SEK",
            row="payout",
            field=currency_key,
        )
        date_key, date_value = get(payout_info, "payoutDate", "date", "reportDate", "paymentDate")
        if date_value is None:
            date_key, date_value = get(header, "reportDate", "date")
        payout_date = day(date_value, row="payout", field=date_key)
        _ref_key, reference = get(
            payout_info, "payoutReference", "bankReference", "reference", "reportId", "id"
        )
        reference = text(reference) or f"SVEA-{payout_date}-{currency}"
        amount_key, amount = get(payout_info, "payoutAmount", "totalAmount", "amount", "netAmount")
        yield ParsedPayout(
            reference=reference,
            payout_date=payout_date,
            currency=currency,
            stated_net=self._money(amount, row="payout", field=amount_key)
            if amount is not None
            else None,
            raw={k: v for k, v in header.items() if not isinstance(v, list)},
        )
        for where, row in rows:
            yield self._line(reference, where, row, currency)

    def _rows(self, document: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(document, list):
            for i, item in enumerate(document):
                if not isinstance(item, dict):
                    raise ParseError("should be an object.", row=f"{where}[{i}]")
                if any(k.lower() == "externalorderno" for k in item) or "type" in {
                    k.lower() for k in item
                }:
                    yield f"{where}[{i}]", item
                else:
                    yield from self._rows(_nested_lists(item), f"{where}[{i}]")
        elif isinstance(document, dict):
            for key, value in document.items():
                if isinstance(value, list):
                    yield from self._rows(value, f"{key}")

    def _line(self, reference: str, where: str, row: dict[str, Any], currency: str) -> ParsedLine:
        type_key, type_value = get(row, "type", "transactionType", "rowType", "description")
        name = text(type_value).lower().replace(" ", "").replace("_", "")
        if name not in TYPES:
            raise ParseError(
                f"{type_value!r} is not a row type we know.", row=where, field=type_key
            )
        kind, direction = TYPES[name]
        amount_key, amount_value = get(row, "amount", "amountIncVat", "grossAmount")
        amount = self._money(amount_value, row=where, field=amount_key)
        signed = amount if direction == 0 else direction * abs(amount)
        fee_key, fee_value = get(row, "fee", "feeAmount")
        fee = (
            abs(self._money(fee_value, row=where, field=fee_key)) if fee_value is not None else ZERO
        )
        gross, fee = (ZERO, -signed + fee) if kind == "fee" else (signed, fee)
        net_key, net_value = get(row, "netAmount", "net")
        if net_value is None:
            net = gross - fee
        else:
            net = self._money(net_value, row=where, field=net_key)
            net = net if direction == 0 else direction * abs(net)
        date_key, when = get(row, "transactionDate", "paymentDate", "date", "created")
        return ParsedLine(
            payout=reference,
            row=where,
            type=kind,
            currency=currency_code(
                get(row, "currency")[1] or currency, row=where, field="currency"
            ),
            gross=gross,
            fee=fee,
            net=net,
            raw=row,
            order_reference=text(get(row, "externalOrderNo", "clientOrderNumber")[1]),
            transaction_id=text(
                get(row, "transactionId", "checkoutOrderId", "orderId", "invoiceId")[1]
            ),
            occurred_at=moment(when, row=where, field=date_key) if when else None,
        )

    minor_units = False

    def _money(self, value: Any, *, row: str, field: str) -> Decimal:
        amount = major(value, row=row, field=field)
        return (amount / 100).quantize(CENT) if self.minor_units else amount


def _whole(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _nested_lists(item: dict[str, Any]) -> list[Any]:
    rows: list[Any] = []
    for value in item.values():
        if isinstance(value, list):
            rows.extend(value)
    return rows


def _keys(document: Any, depth: int) -> set[str]:
    if depth == 0:
        return set()
    if isinstance(document, dict):
        found = {str(k).lower() for k in document}
        for value in document.values():
            if isinstance(value, list | dict):
                found |= _keys(value, depth - 1)
        return found
    if isinstance(document, list):
        return _keys(document[0], depth - 1) if document else set()
    return set()
