"""Shopify Payments: payouts (`GET /shopify_payments/payouts.json`) and their balance
transactions (`GET /shopify_payments/balance/transactions.json?payout_id=…`), saved together as
one document `{"payouts": [...], "transactions": [...]}` (or either alone). Amounts are signed
decimal strings in major units; `fee` is a positive cost and `net` = `amount` − `fee`.
`source_order_id` is Shopify's internal order id: matching resolves it to the order number
through the links the webshop integration wrote when it transferred the order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ledger.parsers.base import (
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

TYPES = {
    "charge": "sale",
    "refund": "refund",
    "adjustment": "adjustment",
    "credit": "adjustment",
    "debit": "adjustment",
    "application_fee": "fee",
    "shopify_fee": "fee",
    "tax": "fee_vat",
    "payout": "payout",
    "payout_failure": "payout",
    "payout_cancellation": "payout",
    "advance": "adjustment",
    "advance_funding": "adjustment",
}


class ShopifyPaymentsJson(Parser):
    name, provider, is_json = "shopify_payments_json", "shopify_payments", True
    label = "Shopify Payments payouts and balance transactions (JSON)"
    unique_transaction_ids = True

    def accepts(self, document: Any) -> bool:
        if not isinstance(document, dict):
            return False
        for key in ("transactions", "payouts"):
            items = document.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                first = items[0]
                if "payout_id" in first or "source_order_id" in first or "summary" in first:
                    return True
        return isinstance(document.get("payout"), dict) and "summary" in document["payout"]

    def parse_document(self, document: dict[str, Any]) -> Iterator[Parsed]:
        payouts = document.get("payouts") or []
        transactions = document.get("transactions") or []
        if not isinstance(payouts, list) or not isinstance(transactions, list):
            raise ParseError("should be lists.", row="payouts/transactions")
        payouts = list(payouts)
        if isinstance(document.get("payout"), dict):
            payouts.append(document["payout"])
        grouped: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for i, item in enumerate(transactions):
            where = f"transactions[{i}]"
            if not isinstance(item, dict):
                raise ParseError("should be an object.", row=where)
            payout_id = text(item.get("payout_id"))
            if not payout_id:
                raise ParseError("is missing.", row=where, field="payout_id")
            grouped[payout_id].append((where, item))
        stated = {}
        for i, payout in enumerate(payouts):
            where = f"payouts[{i}]"
            if not isinstance(payout, dict) or not text(payout.get("id")):
                raise ParseError("is missing.", row=where, field="id")
            stated[text(payout["id"])] = (where, payout)
        for reference in list(stated) + [r for r in grouped if r not in stated]:
            members = grouped.get(reference, [])
            own = next(
                (
                    t
                    for _w, t in members
                    if t.get("type") == "payout" and text(t.get("source_id")) == reference
                ),
                None,
            ) or next((t for _w, t in members if t.get("type") == "payout"), None)
            yield self._payout(reference, stated.get(reference), own, members)
            for where, item in members:
                if item is not own:
                    yield self._line(reference, where, item)

    def _payout(self, reference, stated, own, members) -> ParsedPayout:
        if stated is not None:
            where, payout = stated
            currency = currency_code(payout.get("currency"), row=where, field="currency")
            return ParsedPayout(
                reference=reference,
                payout_date=day(payout.get("date"), row=where, field="date"),
                currency=currency,
                stated_net=major(payout.get("amount"), row=where, field="amount"),
                raw=payout,
            )
        if own is not None:
            where = next(w for w, t in members if t is own)
            return ParsedPayout(
                reference=reference,
                payout_date=day(own.get("processed_at"), row=where, field="processed_at"),
                currency=currency_code(own.get("currency"), row=where, field="currency"),
                stated_net=-major(own.get("amount"), row=where, field="amount"),
                raw=own,
            )
        where, first = members[0]
        return ParsedPayout(
            reference=reference,
            payout_date=max(
                day(t.get("processed_at"), row=w, field="processed_at") for w, t in members
            ),
            currency=currency_code(first.get("currency"), row=where, field="currency"),
        )

    def _line(self, reference: str, where: str, item: dict[str, Any]) -> ParsedLine:
        currency = currency_code(item.get("currency"), row=where, field="currency")
        amount = major(item.get("amount"), row=where, field="amount")
        fee = major(item.get("fee") or "0", row=where, field="fee")
        net = major(item.get("net"), row=where, field="net")
        kind_name = text(item.get("type")).lower()
        if kind_name == "dispute":
            kind = "chargeback" if amount < 0 else "dispute_reversal"
        elif kind_name == "reserve":
            kind = "reserve_hold" if amount < 0 else "reserve_release"
        else:
            kind = TYPES.get(kind_name, "adjustment")
        if kind in ("fee", "fee_vat"):
            amount, fee = amount - amount, fee - amount
        processed = item.get("processed_at")
        return ParsedLine(
            payout=reference,
            row=where,
            type=kind,
            currency=currency,
            gross=amount,
            fee=fee,
            net=net,
            raw=item,
            source_order_id=text(item.get("source_order_id")),
            transaction_id=text(item.get("id")),
            occurred_at=moment(processed, row=where, field="processed_at") if processed else None,
        )
