"""Klarna Settlements API v1 as the sandbox serves it under /klarna (real: https://api.klarna.com).

Paths, as in specs/klarna-settlements-v1.openapi.yml (servers: …/settlements/v1):
- GET /settlements/v1/payouts                    start_date, end_date, currency_code, size, offset
- GET /settlements/v1/payouts/{payment_reference}
- GET /settlements/v1/transactions               payment_reference, order_id, size, offset
- GET /settlements/v1/reports/payout-with-transactions?payment_reference=   the CSV report
Collections carry `pagination {count, total, next, prev, offset}`; size defaults to 20, max 500.
HTTP Basic auth with the merchant's API username and password. Errors are ErrorResponse
{error_code, error_messages[], correlation_id}. Amounts are integers in minor units and unsigned:
the type says the direction (sale +, return/reversal/fee −), as in Klarna's settlement docs.

The CSV report is semicolon separated, one row per transaction, each row repeating the payout's
summary columns before the transaction's own; amounts there are decimals (major units).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from shops.sandbox import gateway_data as data
from shops.sandbox.state import Request, Response, SandboxState, parse_datetime

PREFIX = "/settlements/v1"
DEFAULT_SIZE, MAX_SIZE = 20, 500
FEES = data.FeeModel(percent=Decimal("2.49"), fixed=0, dispute_fee=0)
TOTAL_KEYS = (
    "commission_amount repay_amount sale_amount holdback_amount tax_amount settlement_amount "
    "fee_correction_amount reversal_amount release_amount return_amount fee_amount "
    "charge_amount credit_amount fee_refund_amount tax_refund_amount deposit_amount "
    "opening_debt_balance_amount closing_debt_balance_amount"
).split()
CSV_SUMMARY = (
    "merchant_id payment_reference payment_date currency_code total_sale_amount total_fee_amount "
    "total_fee_correction_amount total_tax_amount total_return_amount total_reversal_amount "
    "total_commission_amount total_charge_amount total_credit_amount total_holdback_amount "
    "total_release_amount total_repay_amount total_settlement_amount opening_debt_balance "
    "closing_debt_balance"
).split()
CSV_BODY = (
    "type detailed_type capture_id merchant_reference1 merchant_reference2 order_id "
    "short_order_id refund_id sale_date capture_date amount vat_rate vat_amount purchase_country "
    "shipping_country initial_payment_method_type reversal_reference"
).split()

DEMO_CREDENTIALS = {
    data.KAFFEBONAN: {
        "merchant_id": "K100042",
        "username": "K100042_kaffebonan",
        "password": "demo-kaffebonan-klarna-secret",
    }
}


@dataclasses.dataclass
class Merchant:
    merchant_id: str
    username: str
    password: str
    book: data.PayoutBook
    payouts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # newest first
    transactions: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)


def error(status: int, code: str, *messages: str, headers: dict | None = None) -> Response:
    return Response(
        status,
        {"error_code": code, "error_messages": list(messages), "correlation_id": str(uuid.uuid4())},
        headers or {},
    )


class KlarnaSandbox:
    name = "klarna"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        credentials = DEMO_CREDENTIALS[tenant]
        return f"{root}/klarna", {
            "username": credentials["username"],
            "password": credentials["password"],
        }

    def reset(self, state: SandboxState) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.rate = data.RateLimit(100, 1.0)
        for tenant, credentials in DEMO_CREDENTIALS.items():
            merchant = Merchant(
                credentials["merchant_id"],
                credentials["username"],
                credentials["password"],
                data.PayoutBook("klarna", tenant, FEES, 10001, state.options.seed),
            )
            self.merchants[tenant] = merchant
            self._add(
                merchant, merchant.book.extend(data.DEMO_PAYOUTS, data.DEMO_EVENTS_PER_PAYOUT)
            )

    def is_token_path(self, path: str) -> bool:
        return False

    def snapshot(self) -> dict[str, Any]:
        merchants = {
            tenant: {
                "merchant_id": m.merchant_id,
                "payouts": len(m.payouts),
                "transactions": sum(len(t) for t in m.transactions.values()),
                "payout_references": [p["payment_reference"] for p in m.payouts[:50]],
            }
            for tenant, m in self.merchants.items()
        }
        return {
            "payouts": sum(m["payouts"] for m in merchants.values()),
            "transactions": sum(m["transactions"] for m in merchants.values()),
            "throttled": self.rate.throttled,
            "merchants": merchants,
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return error(
                429, "TOO_MANY_REQUESTS", "Rate limit exceeded", headers={"Retry-After": "1"}
            )
        if kind == "502":
            return data.bad_gateway()
        return error(500, "INTERNAL_SERVER_ERROR", "An internal error occurred")

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if action == "rate_limit":
            return self.rate.configure(body)
        if action != "generate":
            return Response(404, {"error": f"No sandbox action {action!r} for klarna"})
        tenant, count, per_payout = data.parse_generate(body)
        with state.lock:
            merchant = self.merchants[tenant]
            added = merchant.book.extend(count, per_payout)
            references = self._add(merchant, added)
        return data.generated(added, references)

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        with state.lock:
            merchant = self._authenticate(request)
            if merchant is None:
                return error(
                    401,
                    "UNAUTHORIZED",
                    "Missing or invalid credentials",
                    headers={"WWW-Authenticate": 'Basic realm="Klarna"'},
                )
            wait = self.rate.wait(state, (self.name, merchant.merchant_id))
            if wait is not None:
                return error(
                    429,
                    "TOO_MANY_REQUESTS",
                    "Rate limit exceeded",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            path = request.path.rstrip("/")
            if request.method != "GET" or not path.startswith(PREFIX):
                return error(404, "NOT_FOUND", f"No resource {request.method} {request.path}")
            rest = path.removeprefix(PREFIX)
            if rest == "/payouts":
                return self._payouts(request, merchant)
            if rest.startswith("/payouts/") and rest.count("/") == 2:
                return self._payout(rest.rsplit("/", 1)[1], request, merchant)
            if rest == "/transactions":
                return self._transactions(request, merchant)
            if rest == "/reports/payout-with-transactions":
                return self._csv(request, merchant)
            return error(404, "NOT_FOUND", f"No resource GET {request.path}")

    def _authenticate(self, request: Request) -> Merchant | None:
        username, password = data.basic_auth(request)
        return next(
            (
                m
                for m in self.merchants.values()
                if (m.username, m.password) == (username, password)
            ),
            None,
        )

    def _page(self, request: Request, items: list[Any], key: str, base: str) -> Response:
        try:
            size = int(request.query.get("size") or DEFAULT_SIZE)
            offset = int(request.query.get("offset") or 0)
        except ValueError:
            return error(400, "BAD_VALUE", "size and offset must be integers")
        if not 1 <= size <= MAX_SIZE:
            return error(400, "BAD_VALUE", f"size must be between 1 and {MAX_SIZE}")
        if offset < 0:
            return error(400, "BAD_VALUE", "offset must not be negative")
        page = items[offset : offset + size]
        query = {k: v for k, v in request.query.items() if k not in ("size", "offset")}
        pagination: dict[str, Any] = {"count": len(page), "total": len(items), "offset": offset}
        if offset + size < len(items):
            pagination["next"] = (
                f"{base}?{urlencode({**query, 'offset': offset + size, 'size': size})}"
            )
        if offset > 0:
            previous = max(offset - size, 0)
            pagination["prev"] = f"{base}?{urlencode({**query, 'offset': previous, 'size': size})}"
        return Response(200, {key: page, "pagination": pagination})

    def _payouts(self, request: Request, merchant: Merchant) -> Response:
        try:
            start = _bound(request.query.get("start_date"))
            end = _bound(request.query.get("end_date"))
        except ValueError:
            return error(400, "BAD_VALUE", "start_date and end_date must be ISO 8601 date-times")
        currency = request.query.get("currency_code", "").upper()
        payouts = [
            p
            for p in merchant.payouts
            if (start is None or parse_datetime(p["payout_date"]) >= start)
            and (end is None or parse_datetime(p["payout_date"]) <= end)
            and (not currency or p["currency_code"] == currency)
        ]
        base = f"{data.origin(request.header('host'))}/klarna{PREFIX}/payouts"
        return self._page(request, [self._linked(p, request) for p in payouts], "payouts", base)

    def _linked(self, payout: dict[str, Any], request: Request) -> dict[str, Any]:
        root = f"{data.origin(request.header('host'))}/klarna{PREFIX}"
        return {
            **payout,
            "transactions": f"{root}/transactions?payment_reference={payout['payment_reference']}",
        }

    def _payout(self, reference: str, request: Request, merchant: Merchant) -> Response:
        payout = next((p for p in merchant.payouts if p["payment_reference"] == reference), None)
        if payout is None:
            return error(404, "NOT_FOUND", f"Payout {reference} not found")
        return Response(200, self._linked(payout, request))

    def _transactions(self, request: Request, merchant: Merchant) -> Response:
        reference = request.query.get("payment_reference", "")
        order_id = request.query.get("order_id", "")
        if reference:
            items = list(merchant.transactions.get(reference, []))
        else:
            items = [t for ts in merchant.transactions.values() for t in ts]
        if order_id:
            items = [t for t in items if t["order_id"] == order_id]
        base = f"{data.origin(request.header('host'))}/klarna{PREFIX}/transactions"
        return self._page(request, items, "transactions", base)

    def _csv(self, request: Request, merchant: Merchant) -> Response:
        reference = request.query.get("payment_reference", "")
        if not reference:
            return error(400, "BAD_VALUE", "payment_reference is required")
        payout = next((p for p in merchant.payouts if p["payment_reference"] == reference), None)
        if payout is None:
            return error(404, "NOT_FOUND", f"Payout {reference} not found")
        return Response(
            200,
            render_csv(payout, merchant.transactions[reference]),
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{reference}.csv"',
            },
        )

    # --- neutral payouts → Klarna's records -----------------------------------------------------

    def _add(self, merchant: Merchant, payouts: list[data.Payout]) -> list[str]:
        references = []
        for payout in payouts:
            reference = data.token("klarna-ref", payout.key, length=10, alphabet="0123456789")
            transactions = [t for e in payout.events for t in _transactions(e, reference)]
            merchant.transactions[reference] = transactions
            merchant.payouts.insert(0, _payout(merchant, payout, reference, transactions))
            references.append(reference)
        return references


def _bound(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    # A date without a time means the start of that day (the spec's own warning).
    return parse_datetime(value if "T" in value else f"{value}T00:00:00Z")


def _transactions(event: data.Event, reference: str) -> list[dict[str, Any]]:
    order_id = str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-order/{event.original_key or event.key}")
    )
    common = {
        "merchant_reference1": event.order_number,
        "merchant_reference2": "",
        "sale_date": data.iso_utc(event.occurred_at),
        "capture_date": data.iso_utc(event.occurred_at),
        "payment_reference": reference,
        "order_id": order_id,
        "short_order_id": data.token("klarna-short", order_id, length=8).upper(),
        "currency_code": "SEK",
        "currency_code_of_registration_country": "SEK",
        "purchase_country": "SE",
        "shipping_country": "SE",
        "initial_payment_method_type": "invoice",
    }
    if event.kind == data.SALE:
        capture = str(uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-capture/{event.key}"))
        rows = [
            {
                **common,
                "type": "SALE",
                "detailed_type": "PURCHASE",
                "capture_id": capture,
                "amount": event.amount,
            },
            # Klarna's fees on Swedish sales are financial services: no VAT on them.
            {
                **common,
                "type": "FEE",
                "detailed_type": "PURCHASE_FEE_PERCENTAGE",
                "capture_id": capture,
                "amount": event.fee,
                "vat_rate": 0,
                "vat_amount": 0,
            },
        ]
        return [r for r in rows if r["amount"]]
    if event.kind == data.REFUND:
        refund_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-refund/{event.key}"))
        return [
            {
                **common,
                "type": "RETURN",
                "detailed_type": "PURCHASE_RETURN",
                "capture_id": "",
                "refund_id": refund_id,
                "amount": -event.amount,
            }
        ]
    dispute = data.token("klarna-dispute", event.key, length=15, alphabet="0123456789")
    return [
        {
            **common,
            "type": "REVERSAL",
            "detailed_type": "REVERSAL",
            "capture_id": "",
            "amount": -event.amount,
            "reversal_reference": f"krn:klarna:eu1:dispute:goods_not_received:{dispute}",
        }
    ]


def _payout(
    merchant: Merchant, payout: data.Payout, reference: str, transactions: list[dict[str, Any]]
) -> dict[str, Any]:
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    by_type = {
        "SALE": "sale_amount",
        "RETURN": "return_amount",
        "REVERSAL": "reversal_amount",
        "FEE": "fee_amount",
    }
    for transaction in transactions:
        totals[by_type[transaction["type"]]] += transaction["amount"]
    totals["settlement_amount"] = (
        totals["sale_amount"]
        - totals["return_amount"]
        - totals["reversal_amount"]
        - totals["fee_amount"]
    )
    assert totals["settlement_amount"] == payout.net, "the generator and Klarna disagree"
    paid = datetime.datetime.combine(payout.payout_date, datetime.time(5, 0), tzinfo=datetime.UTC)
    return {
        "totals": totals,
        "payment_reference": reference,
        "payout_date": data.iso_utc(paid),
        "currency_code": payout.currency,
        "currency_code_of_registration_country": "SEK",
        "merchant_settlement_type": "NET",
        "merchant_id": merchant.merchant_id,
    }


def render_csv(payout: dict[str, Any], transactions: list[dict[str, Any]]) -> str:
    totals = payout["totals"]
    summary = {
        "merchant_id": payout["merchant_id"],
        "payment_reference": payout["payment_reference"],
        "payment_date": payout["payout_date"][:10],
        "currency_code": payout["currency_code"],
        "opening_debt_balance": data.major(totals["opening_debt_balance_amount"]),
        "closing_debt_balance": data.major(totals["closing_debt_balance_amount"]),
    }
    for column in CSV_SUMMARY:
        if column.startswith("total_"):
            summary[column] = data.major(totals[column.removeprefix("total_")])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_SUMMARY + CSV_BODY)
    for transaction in transactions:
        body = {column: transaction.get(column, "") for column in CSV_BODY}
        body["amount"] = data.major(transaction["amount"])
        if "vat_amount" in transaction:
            body["vat_amount"] = data.major(transaction["vat_amount"])
        writer.writerow([summary[c] for c in CSV_SUMMARY] + [body[c] for c in CSV_BODY])
    return out.getvalue()
