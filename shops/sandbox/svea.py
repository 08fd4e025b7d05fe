"""Svea Payment Admin API reports as the sandbox serves them under /svea
(real: https://paymentadminapi.svea.com, stage: https://paymentadminapistage.svea.com).

- GET /api/v2/reports?date=YYYY-MM-DD&includeWithholding=true|false
  The reconciliation report of one day: the payout Svea made to the merchant's bank account that
  day and the transactions it pays. Rows carry the merchant's order number as `externalOrderNo`.
  With includeWithholding=true the amounts Svea withheld (its fees) are rows of their own, and only
  then do the rows sum to the payout. A day without a payout answers an empty report.
- GET /api/v1/orders/{orderId}
  The checkout order a report row's `orderId` names, as the Payment Admin API's order: OrderRows
  (UnitPrice in öre including VAT, Quantity and VatPercent in hundredths: 100 = 1 item, 2500 =
  25 %), Deliveries with their Credits (Amount and the OrderRows that came back), IsCompany,
  NationalId and BillingAddress.
Svea documents the path, the parameters and the authentication; the report body below is this
sandbox's rendering (amounts are integers in minor units, as in Svea's other Payment Admin
resources; credits and chargebacks are negative).

Auth, as Svea's: `Authorization: Svea base64(merchantId + ":" + sha512hex(body + secret +
timestamp))` and `Timestamp: yyyy-MM-dd HH:mm:ss` (UTC); for a GET the body is empty. A
timestamp more than five minutes off is refused. 400s are ASP.NET problem details with
`errors: {"<field>": ["…"]}`; 429 carries Retry-After.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import hmac
from decimal import Decimal
from typing import Any

from shops.sandbox import gateway_data as data
from shops.sandbox.state import Request, Response, SandboxState

REPORTS_PATH = "/api/v2/reports"
ORDERS_PATH = "/api/v1/orders/"
CLOCK_SKEW = datetime.timedelta(minutes=5)
FEES = data.FeeModel(percent=Decimal("1.95"), fixed=0, dispute_fee=0)
TYPES = {data.SALE: "Payment", data.REFUND: "Credit", data.CHARGEBACK: "Chargeback"}

DEMO_CREDENTIALS = {
    data.KAFFEBONAN: {"merchant_id": "124842", "secret": "demo-kaffebonan-svea-secret"}
}


@dataclasses.dataclass
class Merchant:
    merchant_id: str
    secret: str
    book: data.PayoutBook
    reports: dict[datetime.date, dict[str, Any]] = dataclasses.field(default_factory=dict)
    orders: data.SoldOrders = dataclasses.field(default_factory=data.SoldOrders)


def signature(body: str, secret: str, timestamp: str, merchant_id: str) -> str:
    digest = hashlib.sha512((body + secret + timestamp).encode()).hexdigest()
    return "Svea " + base64.b64encode(f"{merchant_id}:{digest}".encode()).decode()


def problem(status: int, title: str, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": title,
        "status": status,
    }
    if errors:
        body["errors"] = errors
    return Response(status, body)


class SveaSandbox(data.GeneratesPayouts):
    name = "svea"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        return f"{root}/svea", dict(DEMO_CREDENTIALS[tenant])

    def reset(self, state: SandboxState) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.rate = data.RateLimit(100, 1.0)
        for tenant, credentials in DEMO_CREDENTIALS.items():
            book = data.PayoutBook("svea", tenant, FEES, 50001, state.options.seed)
            merchant = Merchant(credentials["merchant_id"], credentials["secret"], book)
            self.merchants[tenant] = merchant
            self._add(merchant, book.extend(data.DEMO_PAYOUTS, data.DEMO_EVENTS_PER_PAYOUT))

    def is_token_path(self, path: str) -> bool:
        return False

    def snapshot(self) -> dict[str, Any]:
        merchants = {
            tenant: {
                "merchant_id": m.merchant_id,
                "payouts": len(m.reports),
                "transactions": sum(len(r["rows"]) for r in m.reports.values()),
                "payout_dates": [d.isoformat() for d in sorted(m.reports)[:50]],
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
            return Response(429, {"message": "Too many requests"}, {"Retry-After": "1"})
        if kind == "502":
            return data.bad_gateway()
        return problem(500, "An error occurred while processing your request.")

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        with state.lock:
            merchant = self._authenticate(request)
            if merchant is None:
                return Response(401, {"message": "Authorization has been denied for this request."})
            wait = self.rate.wait(state, (self.name, merchant.merchant_id))
            if wait is not None:
                return Response(
                    429, {"message": "Too many requests"}, {"Retry-After": str(max(1, round(wait)))}
                )
            path = request.path.rstrip("/").lower()
            if request.method == "GET" and path.startswith(ORDERS_PATH):
                return self._order(path.removeprefix(ORDERS_PATH), merchant)
            if request.method != "GET" or path != REPORTS_PATH:
                return problem(404, "Not Found")
            return self._report(request, merchant)

    def _order(self, order_id: str, merchant: Merchant) -> Response:
        sale = merchant.orders.sales.get(order_id)
        if sale is None:
            return problem(404, "Not Found")
        return Response(
            200, render_order(order_id, sale, merchant.orders.returns.get(order_id, []))
        )

    def _authenticate(self, request: Request) -> Merchant | None:
        value, stamp = request.header("Authorization"), request.header("Timestamp")
        if not value.startswith("Svea ") or not stamp:
            return None
        try:
            sent = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=datetime.UTC
            )
            merchant_id = base64.b64decode(value[5:]).decode().partition(":")[0]
        except ValueError:
            return None
        if abs(datetime.datetime.now(datetime.UTC) - sent) > CLOCK_SKEW:
            return None
        merchant = next((m for m in self.merchants.values() if m.merchant_id == merchant_id), None)
        if merchant is None:
            return None
        expected = signature(
            request.body.decode("utf-8", "replace"), merchant.secret, stamp, merchant_id
        )
        return merchant if hmac.compare_digest(expected, value) else None

    def _report(self, request: Request, merchant: Merchant) -> Response:
        raw_date = request.query.get("date", "")
        try:
            day = datetime.date.fromisoformat(raw_date)
        except ValueError:
            errors = {
                "date": [
                    f"The value '{raw_date}' is not valid."
                    if raw_date
                    else "The date field is required."
                ]
            }
            return problem(400, "One or more validation errors occurred.", errors)
        withholding = request.query.get("includeWithholding", "false").lower()
        if withholding not in ("true", "false"):
            return problem(
                400,
                "One or more validation errors occurred.",
                {"includeWithholding": [f"The value '{withholding}' is not valid."]},
            )
        report = merchant.reports.get(day) or {
            "reportDate": day.isoformat(),
            "currency": "SEK",
            "payoutAmount": 0,
            "rows": [],
        }
        if withholding == "false":
            report = {
                **report,
                "rows": [r for r in report["rows"] if r["transactionType"] != "Fee"],
            }
        return Response(200, report)

    # --- neutral payouts → Svea reports ---------------------------------------------------------

    def _add(self, merchant: Merchant, payouts: list[data.Payout]) -> list[str]:
        for payout in payouts:
            rows = []
            for event in payout.events:
                order_id = (
                    int(
                        data.token(
                            "svea-order",
                            event.original_key or event.key,
                            length=7,
                            alphabet="0123456789",
                        )
                    )
                    + 1_000_000
                )
                merchant.orders.add(str(order_id), event)
                common = {
                    "orderId": order_id,
                    "externalOrderNo": event.order_number,
                    "paymentType": "Invoice",
                    "transactionDate": data.iso_utc(event.occurred_at),
                    "currency": payout.currency,
                }
                rows.append(
                    {
                        **common,
                        "transactionId": data.hex_id("svea", event.key, length=20),
                        "transactionType": TYPES[event.kind],
                        "amount": event.amount,
                    }
                )
                if event.fee:
                    rows.append(
                        {
                            **common,
                            "transactionId": data.hex_id("svea-fee", event.key, length=20),
                            "transactionType": "Fee",
                            "amount": -event.fee,
                        }
                    )
            assert sum(r["amount"] for r in rows) == payout.net
            merchant.reports[payout.payout_date] = {
                "reportDate": payout.payout_date.isoformat(),
                "currency": payout.currency,
                "payoutAmount": payout.net,
                "rows": rows,
            }
        return [p.payout_date.isoformat() for p in payouts]


def render_row(line: data.Line, row_id: int) -> dict[str, Any]:
    return {
        "OrderRowId": row_id,
        "ArticleNumber": line.reference,
        "Name": line.description,
        "Quantity": line.quantity * 100,
        "UnitPrice": line.unit_price,
        "DiscountPercent": 0,
        "VatPercent": line.vat_rate * 100,
        "Unit": "st",
        "IsCancelled": False,
        "Actions": ["CanCreditRow"],
    }


def render_order(order_id: str, sale: data.Event, returns: list[data.Event]) -> dict[str, Any]:
    given, family, company = data.buyer(sale.key)
    rows = [render_row(line, n) for n, line in enumerate(sale.lines, start=1)]
    row_ids = {line: n for n, line in enumerate(sale.lines, start=1)}
    return {
        "Id": int(order_id),
        "Currency": "SEK",
        "MerchantOrderId": sale.order_number,
        "OrderStatus": "Delivered",
        "EmailAddress": f"{given}.{family}@example.se".lower(),
        "PaymentType": "INVOICE",
        "CreationDate": data.iso_utc(sale.occurred_at),
        "NationalId": data.company_number(company) if company else "",
        "IsCompany": bool(company),
        "OrderAmount": sale.amount,
        "CancelledAmount": 0,
        "BillingAddress": {
            "FullName": company or f"{given} {family}",
            "StreetAddress": "Kungsgatan 12",
            "PostalCode": "11143",
            "City": "Stockholm",
            "CountryCode": "SE",
        },
        "OrderRows": rows,
        "Deliveries": [
            {
                "Id": int(order_id) * 10 + 1,
                "CreationDate": data.iso_utc(sale.occurred_at),
                "DeliveryAmount": sale.amount,
                "CreditedAmount": sum(-r.amount for r in returns),
                "OrderRows": rows,
                "Credits": [
                    {
                        "Amount": -r.amount,
                        "OrderRows": [render_row(line, row_ids.get(line, 0)) for line in r.lines],
                        "Actions": [],
                    }
                    for r in returns
                ],
                "Actions": ["CanCreditOrderRows", "CanCreditAmount"],
            }
        ],
        "Actions": [],
    }
