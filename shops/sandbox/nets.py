"""Nets Easy (Nexi Checkout) Reporting API as the sandbox serves it under /nets
(real: https://api.dibspayment.eu, test: https://test.api.dibspayment.eu).

- GET /report/v1/payouts              fromDate, toDate (RFC 3339 full-date, required), currency,
                                      pageNumber (1-based), pageSize; answers
                                      {"numberOfPayouts", "payouts": […]} (numberOfPayouts is the
                                      total, which tells whether more pages exist)
- GET /report/v1/payouts/{payoutId}   one payout with the payments (and refunds, chargebacks) it
                                      settles
- GET /v1/payments/{paymentId}        the Payment API's payment a payout row names: orderDetails,
                                      consumer (company buyers), charges and refunds with their
                                      orderItems (unitPrice excluding VAT, taxRate 2500 = 25 %,
                                      taxAmount, grossTotalAmount, netTotalAmount)
The request path, parameters and `numberOfPayouts` are Nexi's documented ones; the field names
inside a payout and its payments are this sandbox's rendering of what the Easy Portal's payout view
shows (documentation of those was not available to check): amounts are integers in minor units,
as everywhere in the Nexi Checkout APIs; refunds and chargebacks are negative.
Auth: the merchant's secret key as the whole `Authorization` header. 400s are ASP.NET model
errors {"errors": {"<field>": ["…"]}}; 401 has no body; 429 carries Retry-After.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

from shops.sandbox import gateway_data as data
from shops.sandbox.state import Request, Response, SandboxState

PREFIX = "/report/v1/payouts"
PAYMENTS = "/v1/payments/"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 100
FEES = data.FeeModel(percent=Decimal("1.45"), fixed=100, dispute_fee=10000)
TYPES = {data.SALE: "Charge", data.REFUND: "Refund", data.CHARGEBACK: "Chargeback"}

DEMO_CREDENTIALS = {
    data.KAFFEBONAN: {"secret_key": "test-secret-key-5e1a9c0d7b2f4e3a8c6d1b0f9e8d7c6b"}
}


@dataclasses.dataclass
class Merchant:
    merchant_number: int
    secret_key: str
    book: data.PayoutBook
    payouts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # oldest first
    orders: data.SoldOrders = dataclasses.field(default_factory=data.SoldOrders)


def model_error(field: str, message: str) -> Response:
    return Response(400, {"errors": {field: [message]}})


class NetsSandbox(data.GeneratesPayouts):
    name = "nets"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        return f"{root}/nets", dict(DEMO_CREDENTIALS[tenant])

    def reset(self, state: SandboxState) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.rate = data.RateLimit(100, 1.0)
        for number, (tenant, credentials) in enumerate(DEMO_CREDENTIALS.items(), start=100017):
            book = data.PayoutBook("nets", tenant, FEES, 40001, state.options.seed)
            merchant = Merchant(number, credentials["secret_key"], book)
            self.merchants[tenant] = merchant
            self._add(merchant, book.extend(data.DEMO_PAYOUTS, data.DEMO_EVENTS_PER_PAYOUT))

    def is_token_path(self, path: str) -> bool:
        return False

    def snapshot(self) -> dict[str, Any]:
        merchants = {
            tenant: {
                "merchant_number": m.merchant_number,
                "payouts": len(m.payouts),
                "transactions": sum(len(p["payments"]) for p in m.payouts),
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
            return _too_many(1)
        if kind == "502":
            return data.bad_gateway()
        return Response(500, {"message": "An unexpected error occurred."})

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        key = request.header("Authorization").strip()
        with state.lock:
            merchant = next((m for m in self.merchants.values() if m.secret_key == key), None)
            if merchant is None or not key:
                return Response(401, None)
            wait = self.rate.wait(state, (self.name, key))
            if wait is not None:
                return _too_many(max(1, round(wait)))
            path = request.path.rstrip("/")
            if request.method == "GET" and path.startswith(PAYMENTS):
                return self._payment(path.removeprefix(PAYMENTS), merchant)
            if request.method != "GET" or not path.startswith(PREFIX):
                return Response(404, None)
            if path == PREFIX:
                return self._list(request, merchant)
            payout_id = path.removeprefix(PREFIX + "/")
            payout = next((p for p in merchant.payouts if p["payoutId"] == payout_id), None)
            if payout is None or "/" in payout_id:
                return Response(404, {"message": f"Payout {payout_id} was not found."})
            return Response(200, payout)

    def _payment(self, payment_id: str, merchant: Merchant) -> Response:
        sale = merchant.orders.sales.get(payment_id)
        if sale is None or "/" in payment_id:
            return Response(404, {"message": f"Payment {payment_id} was not found."})
        returns = merchant.orders.returns.get(payment_id, [])
        return Response(200, {"payment": render_payment(payment_id, sale, returns)})

    def _list(self, request: Request, merchant: Merchant) -> Response:
        query = request.query
        dates = []
        for name in ("fromDate", "toDate"):
            if not query.get(name):
                return model_error(name, f"The {name} field is required.")
            try:
                dates.append(datetime.date.fromisoformat(query[name]))
            except ValueError:
                return model_error(name, f"The value '{query[name]}' is not valid for {name}.")
        if dates[1] < dates[0]:
            return model_error("toDate", "toDate must not be earlier than fromDate.")
        try:
            number = int(query.get("pageNumber") or 1)
            size = int(query.get("pageSize") or DEFAULT_PAGE_SIZE)
        except ValueError:
            return model_error("pageSize", "pageNumber and pageSize must be whole numbers.")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return model_error(
                "pageSize", f"The field pageSize must be between 1 and {MAX_PAGE_SIZE}."
            )
        if number < 1:
            return model_error("pageNumber", "The field pageNumber must be 1 or greater.")
        currency = query.get("currency", "").upper()
        matching = [
            _summary(p)
            for p in merchant.payouts
            if dates[0] <= datetime.date.fromisoformat(p["payoutDate"][:10]) <= dates[1]
            and (not currency or p["currency"] == currency)
        ]
        page = matching[(number - 1) * size : number * size]
        return Response(200, {"numberOfPayouts": len(matching), "payouts": page})

    # --- neutral payouts → Nexi payouts ---------------------------------------------------------

    def _add(self, merchant: Merchant, payouts: list[data.Payout]) -> list[str]:
        ids = []
        for payout in payouts:
            payout_id = data.hex_id("nets-payout", payout.key)
            for event in payout.events:
                merchant.orders.add(
                    data.hex_id("nets-payment", event.original_key or event.key), event
                )
            payments = [
                {
                    "paymentId": data.hex_id("nets-payment", event.original_key or event.key),
                    "transactionId": data.hex_id("nets-transaction", event.key),
                    "transactionType": TYPES[event.kind],
                    "transactionDate": data.iso_utc(event.occurred_at),
                    "orderReference": event.order_number,
                    "paymentMethod": "Visa",
                    "paymentType": "CARD",
                    "grossAmount": event.amount,
                    "feeAmount": event.fee,
                    "netAmount": event.net,
                }
                for event in payout.events
            ]
            merchant.payouts.append(
                {
                    "payoutId": payout_id,
                    "payoutDate": f"{payout.payout_date.isoformat()}T00:00:00Z",
                    "merchantNumber": merchant.merchant_number,
                    "currency": payout.currency,
                    "grossAmount": payout.gross,
                    "feeAmount": payout.fees,
                    "netAmount": payout.net,
                    "bankReference": f"NETS {payout_id[:10].upper()}",
                    "numberOfPayments": len(payments),
                    "payments": payments,
                }
            )
            ids.append(payout_id)
        return ids


def render_item(line: data.Line) -> dict[str, Any]:
    return {
        "reference": line.reference,
        "name": line.description,
        "quantity": line.quantity,
        "unit": "pcs",
        "unitPrice": line.net_unit_price,
        "taxRate": line.vat_rate * 100,
        "taxAmount": line.vat,
        "grossTotalAmount": line.amount,
        "netTotalAmount": line.amount - line.vat,
    }


def render_payment(payment_id: str, sale: data.Event, returns: list[data.Event]) -> dict[str, Any]:
    given, family, company = data.buyer(sale.key)
    consumer: dict[str, Any] = (
        {"company": {"name": company, "registrationNumber": data.company_number(company)}}
        if company
        else {"privatePerson": {"firstName": given, "lastName": family}}
    )
    charged_at = data.iso_utc(sale.occurred_at)
    return {
        "paymentId": payment_id,
        "summary": {
            "reservedAmount": sale.amount,
            "chargedAmount": sale.amount,
            "refundedAmount": sum(-r.amount for r in returns),
        },
        "consumer": consumer,
        "paymentDetails": {"paymentType": "CARD", "paymentMethod": "Visa"},
        "orderDetails": {
            "amount": sale.amount,
            "currency": "SEK",
            "reference": sale.order_number,
        },
        "created": charged_at,
        "charges": [
            {
                "chargeId": data.hex_id("nets-charge", sale.key),
                "amount": sale.amount,
                "created": charged_at,
                "orderItems": [render_item(line) for line in sale.lines],
            }
        ],
        "refunds": [
            {
                "refundId": data.hex_id("nets-transaction", r.key),
                "amount": -r.amount,
                "state": "Completed",
                "lastUpdated": data.iso_utc(r.occurred_at),
                "orderItems": [render_item(line) for line in r.lines],
            }
            for r in returns
        ],
    }


def _summary(payout: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payout.items() if k != "payments"}


def _too_many(seconds: int) -> Response:
    return Response(
        429,
        {"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {seconds} seconds."},
        {"Retry-After": str(seconds)},
    )
