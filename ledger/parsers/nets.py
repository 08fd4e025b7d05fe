"""Nets Easy (Nexi Checkout): the Reporting API's payouts (`GET /report/v1/payouts`, each with
its payments), amounts in minor units as everywhere in the Easy APIs.

The public reference describes payouts and "their associated payments" without a stored response
body we could check field by field, so the names are read tolerantly (`payoutId` or `id`,
`payments` or `transactions`, `orderReference` or `reference` …). Amounts must be whole numbers
of minor units; the direction comes from the payment type, as with Klarna.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    minor,
    moment,
    text,
)

# Nets payment type (lower-case, without spaces or underscores) → (ledger type, direction).
TYPES = {
    "purchase": ("sale", 1),
    "payment": ("sale", 1),
    "charge": ("sale", 1),
    "capture": ("sale", 1),
    "sale": ("sale", 1),
    "refund": ("refund", -1),
    "credit": ("refund", -1),
    "chargeback": ("chargeback", -1),
    "dispute": ("chargeback", -1),
    "chargebackreversal": ("dispute_reversal", 1),
    "fee": ("fee", -1),
    "transactionfee": ("fee", -1),
    "invoicefee": ("fee", -1),
    "monthlyfee": ("fee", -1),
    "deposit": ("adjustment", 1),
    "adjustment": ("adjustment", 0),
    "correction": ("adjustment", 0),
    "reserve": ("reserve_hold", -1),
    "reserverelease": ("reserve_release", 1),
}


def first(mapping: dict[str, Any], *keys: str) -> tuple[str, Any]:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return key, mapping[key]
    return keys[0], None


class NetsJson(Parser):
    name, provider, label, is_json = "nets_json", "nets", "Nets Easy reporting payouts (JSON)", True
    unique_transaction_ids = False

    def accepts(self, document: Any) -> bool:
        payouts = document.get("payouts") if isinstance(document, dict) else None
        if isinstance(document, dict) and "payoutId" in document:
            return True
        return (
            isinstance(payouts, list)
            and bool(payouts)
            and isinstance(payouts[0], dict)
            and ("payoutId" in payouts[0] or "payoutDate" in payouts[0])
        )

    def parse_document(self, document: dict[str, Any]) -> Iterator[Parsed]:
        payouts = [document] if "payoutId" in document else document["payouts"]
        for i, payout in enumerate(payouts):
            where = f"payouts[{i}]"
            if not isinstance(payout, dict):
                raise ParseError("should be an object.", row=where)
            _key, reference = first(payout, "payoutId", "id", "reference")
            if reference in (None, ""):
                raise ParseError("is missing.", row=where, field="payoutId")
            reference = text(reference)
            currency = currency_code(payout.get("currency"), row=where, field="currency")
            net_key, net_value = first(payout, "amount", "payoutAmount", "netAmount", "totalAmount")
            date_key, date_value = first(payout, "payoutDate", "date")
            yield ParsedPayout(
                reference=reference,
                payout_date=day(date_value, row=where, field=date_key),
                currency=currency,
                stated_net=minor(net_value, currency, row=where, field=net_key)
                if net_value is not None
                else None,
                raw={k: v for k, v in payout.items() if k not in ("payments", "transactions")},
            )
            list_key, items = first(payout, "payments", "transactions", "items")
            if items is None:
                continue
            if not isinstance(items, list):
                raise ParseError("should be a list.", row=where, field=list_key)
            for j, item in enumerate(items):
                yield self._line(reference, f"{where}.{list_key}[{j}]", item, currency)

    def _line(self, reference: str, where: str, item: Any, currency: str) -> ParsedLine:
        if not isinstance(item, dict):
            raise ParseError("should be an object.", row=where)
        type_key, type_value = first(item, "type", "transactionType", "eventType", "paymentType")
        name = text(type_value).lower().replace(" ", "").replace("_", "").replace("-", "")
        if name not in TYPES:
            raise ParseError(
                f"{type_value!r} is not a payment type we know.", row=where, field=type_key
            )
        kind, direction = TYPES[name]
        item_currency = currency_code(item.get("currency") or currency, row=where, field="currency")
        gross_key, gross_value = first(item, "grossAmount", "amount")
        amount = minor(gross_value, item_currency, row=where, field=gross_key)
        fee_key, fee_value = first(item, "feeAmount", "fee", "fees")
        if isinstance(fee_value, dict):
            fee_key, fee_value = f"{fee_key}.amount", fee_value.get("amount")
        fee = (
            minor(fee_value, item_currency, row=where, field=fee_key)
            if fee_value is not None
            else ZERO
        )
        signed = amount if direction == 0 else direction * abs(amount)
        if kind == "fee":
            gross, fee = ZERO, -signed + abs(fee)
        else:
            gross, fee = signed, abs(fee)
        net_key, net_value = first(item, "netAmount", "net")
        if net_value is None:
            net = gross - fee
        else:
            net = minor(net_value, item_currency, row=where, field=net_key)
            net = net if direction == 0 else direction * abs(net)
        _id_key, transaction = first(item, "paymentId", "transactionId", "id")
        _ref_key, order = first(
            item, "orderReference", "reference", "merchantReference", "myReference"
        )
        date_key, when = first(item, "transactionDate", "date", "created", "chargeDate")
        return ParsedLine(
            payout=reference,
            row=where,
            type=kind,
            currency=item_currency,
            gross=gross,
            fee=fee,
            net=net,
            raw=item,
            order_reference=text(order),
            transaction_id=text(transaction),
            occurred_at=moment(when, row=where, field=date_key) if when else None,
            country=text(item.get("country") or item.get("countryCode"), 2).upper(),
        )
