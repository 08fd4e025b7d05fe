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

Order Management API v1, read only (what the booking of Plus needs):
- GET /ordermanagement/v1/orders/{order_id}   the order a settlement transaction's `order_id`
  names: `order_lines` (reference, name, quantity, unit_price, tax_rate 2500 = 25 %,
  total_amount, total_tax_amount, total_discount_amount; minor units, VAT included), `refunds`
  with the lines that came back, `billing_address`, `customer` (a company buyer:
  organization_registration_id). An unknown id is 404 NO_SUCH_ORDER. The lines of each sale are
  the generator's, so they add up to the sale's settlement amount exactly. The orders the demo's
  sample settlement files (ledger/demo_files) settle are known too (SAMPLE_ORDERS).

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
ORDERS = "/ordermanagement/v1/orders"
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
    # Order Management: each order's sale and its returns, rendered when asked for.
    sales: dict[str, data.Event] = dataclasses.field(default_factory=dict)
    returns: dict[str, list[data.Event]] = dataclasses.field(default_factory=dict)


def error(status: int, code: str, *messages: str, headers: dict | None = None) -> Response:
    return Response(
        status,
        {"error_code": code, "error_messages": list(messages), "correlation_id": str(uuid.uuid4())},
        headers or {},
    )


class KlarnaSandbox(data.GeneratesPayouts):
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
            _add_samples(merchant)
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
            if request.method == "GET" and path.startswith(ORDERS + "/"):
                return self._order(path.removeprefix(ORDERS + "/"), merchant)
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

    def _order(self, order_id: str, merchant: Merchant) -> Response:
        sale = merchant.sales.get(order_id)
        if sale is None or "/" in order_id:
            return error(404, "NO_SUCH_ORDER", f"The order {order_id} does not exist.")
        return Response(200, render_order(order_id, sale, merchant.returns.get(order_id, [])))

    # --- neutral payouts → Klarna's records -----------------------------------------------------

    def _add(self, merchant: Merchant, payouts: list[data.Payout]) -> list[str]:
        references = []
        for payout in payouts:
            reference = data.token("klarna-ref", payout.key, length=10, alphabet="0123456789")
            transactions = [t for e in payout.events for t in _transactions(e, reference)]
            for event in payout.events:
                if event.kind == data.SALE:
                    merchant.sales[order_id_of(event)] = event
                elif event.kind == data.REFUND:
                    merchant.returns.setdefault(order_id_of(event), []).append(event)
            merchant.transactions[reference] = transactions
            merchant.payouts.insert(0, _payout(merchant, payout, reference, transactions))
            references.append(reference)
        return references


def _bound(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    # A date without a time means the start of that day (the spec's own warning).
    return parse_datetime(value if "T" in value else f"{value}T00:00:00Z")


def order_id_of(event: data.Event) -> str:
    """Klarna's order id of a sale, and of the refunds and chargebacks that undo it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-order/{event.original_key or event.key}"))


def refund_id_of(event: data.Event) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-refund/{event.key}"))


def _transactions(event: data.Event, reference: str) -> list[dict[str, Any]]:
    order_id = order_id_of(event)
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
        refund_id = refund_id_of(event)
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


# --- the Order Management API's view of a sale -------------------------------------------------


def render_line(line: data.Line) -> dict[str, Any]:
    return {
        "type": "shipping_fee" if line.description == data.SHIPPING[0] else "physical",
        "reference": line.reference,
        "name": line.description,
        "quantity": line.quantity,
        "quantity_unit": "pcs",
        "unit_price": line.unit_price,
        "tax_rate": line.vat_rate * 100,
        "total_amount": line.amount,
        "total_discount_amount": 0,
        "total_tax_amount": line.vat,
    }


def render_order(order_id: str, sale: data.Event, returns: list[data.Event]) -> dict[str, Any]:
    given, family, company = data.buyer(sale.key)
    refunded = sum(-r.amount for r in returns)
    address = {
        "given_name": given,
        "family_name": family,
        "street_address": "Kungsgatan 12",
        "postal_code": "111 43",
        "city": "Stockholm",
        "country": "SE",
        "email": f"{given}.{family}@example.se".lower(),
    }
    customer: dict[str, Any] = {}
    if company:
        address["organization_name"] = company
        customer = {
            "type": "organization",
            "organization_registration_id": data.company_number(company),
        }
    captured_at = data.iso_utc(sale.occurred_at)
    capture_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"klarna-capture/{sale.key}"))
    lines = [render_line(line) for line in sale.lines]
    return {
        "order_id": order_id,
        "status": "CAPTURED",
        "fraud_status": "ACCEPTED",
        "order_amount": sale.amount,
        "original_order_amount": sale.amount,
        "captured_amount": sale.amount,
        "refunded_amount": refunded,
        "remaining_authorized_amount": 0,
        "purchase_currency": "SEK",
        "locale": "sv-SE",
        "order_lines": lines,
        "merchant_reference1": sale.order_number,
        "merchant_reference2": "",
        "klarna_reference": data.token("klarna-short", order_id, length=8).upper(),
        "customer": customer,
        "billing_address": address,
        "shipping_address": dict(address),
        "created_at": captured_at,
        "purchase_country": "SE",
        "expires_at": data.iso_utc(sale.occurred_at + datetime.timedelta(days=28)),
        "captures": [
            {
                "capture_id": capture_id,
                "klarna_reference": data.token("klarna-short", capture_id, length=8).upper(),
                "captured_amount": sale.amount,
                "captured_at": captured_at,
                "order_lines": lines,
                "refunded_amount": refunded,
            }
        ],
        "refunds": [
            {
                "refund_id": refund_id_of(r),
                "refunded_amount": -r.amount,
                "refunded_at": data.iso_utc(r.occurred_at),
                "description": "Retur",
                "order_lines": [render_line(line) for line in r.lines],
            }
            for r in returns
        ],
        "initial_payment_method": {"type": "INVOICE", "description": "Pay later"},
    }


# The orders settled in the demo's sample settlement files (ledger/demo_files/klarna_*), which
# seed_demo imports for Kaffebönan: Klarna knows them too, so they can be booked with their VAT.
# Each basket is (description, VAT rate, quantity, unit price in öre) and adds up to its amount.
SAMPLE_BASKETS: dict[int, tuple[tuple[str, int, int, int], ...]] = {
    49900: (
        ("Kaffe Mörkrost 500 g", 6, 1, 11900),
        ("Mokabryggare 3 koppar", 25, 1, 28100),
        ("Kaffeprovning på kaféet", 12, 1, 9900),
    ),
    18900: (("Kaffe Ljusrost 500 g", 6, 1, 10950), ("Kanelskorpor 400 g", 6, 1, 7950)),
    124900: (
        ("Espressobönor 1 kg", 6, 2, 24975),
        ("Handkvarn för kaffe", 25, 1, 54950),
        ("Fika för två på kaféet", 12, 1, 20000),
    ),
    89900: (
        ("Mokabryggare 6 koppar", 25, 1, 39900),
        ("Kaffe Mörkrost 500 g", 6, 3, 11900),
        ("Frukost på kaféet", 12, 1, 14300),
    ),
    34900: (
        ("Kaffekopp keramik", 25, 1, 14900),
        ("Te Earl Grey 100 g", 6, 2, 6900),
        ("Frakt", 25, 1, 6200),
    ),
    19900: (("Te Earl Grey 100 g", 6, 1, 6900), ("Tekopp glas", 25, 1, 13000)),
}
# Their order ids, numbers and amounts (one letter per order: A = 499.00 … F = 199.00, as in
# SAMPLE_BASKETS' order). The lines are what matter here; the sale times are approximate.
SAMPLE_AMOUNTS = dict(zip("ABCDEF", SAMPLE_BASKETS, strict=True))
SAMPLE_ORDERS: tuple[tuple[str, str, int, str], ...] = tuple(
    (f"k-{n}", str(n), SAMPLE_AMOUNTS[letter], "2026-09-20T10:00:00Z")
    for n, letter in zip(
        range(901, 946), "ABCCDEFFBEADFCDBFDDFCCCCEBCEFDCABDAFCCEDDBAFB", strict=True
    )
) + tuple(
    (
        f"d3m0{n}-0000-4000-8000-00000000{n}",
        str(n),
        SAMPLE_AMOUNTS[letter],
        f"2026-11-{n - 987}T10:00:00Z",
    )
    for n, letter in zip(range(1001, 1006), "ACBED", strict=True)
)
SAMPLE_RETURNS: tuple[tuple[str, int, str], ...] = (
    # Order 1001 sent the coffee tasting back (99.00 at 12 %).
    ("d3m01001-0000-4000-8000-000000001001", 2, "2026-11-19T16:00:00Z"),
)


def _add_samples(merchant: Merchant) -> None:
    for order_id, number, amount, at in SAMPLE_ORDERS:
        lines = tuple(data.Line(*line) for line in SAMPLE_BASKETS[amount])
        assert sum(line.amount for line in lines) == amount, order_id
        moment = parse_datetime(at)
        merchant.sales[order_id] = data.Event(
            data.SALE, f"klarna/sample/{order_id}", number, moment, amount, 0, lines
        )
    for order_id, index, at in SAMPLE_RETURNS:
        sale = merchant.sales[order_id]
        back = sale.lines[index : index + 1]
        merchant.returns.setdefault(order_id, []).append(
            data.Event(
                data.REFUND,
                f"{sale.key}/return/{index}",
                sale.order_number,
                parse_datetime(at),
                -sum(line.amount for line in back),
                0,
                back,
                sale.key,
            )
        )
