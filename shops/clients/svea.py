"""Svea Payment Admin API: the daily reconciliation report (one payout and what it settles).

- GET /api/v2/reports?date=YYYY-MM-DD&includeWithholding=true
base_url: https://paymentadminapi.svea.com (stage: https://paymentadminapistage.svea.com).
Svea pays out at most once a day per merchant, so a payout is identified by its date: the
payout id here is the ISO date ("2026-11-04"). With includeWithholding=true what Svea withheld
(its fees) comes as rows of their own, and only then do the rows sum to the payout.

Svea documents the path, the parameters and the authentication; the field names of the report
(reportDate, currency, payoutAmount, rows[] with externalOrderNo, transactionType, amount) follow
our sandbox's rendering and should be checked against a live account before go-live. Amounts are
integers in minor units, as in Svea's other Payment Admin resources; converted here, once.

Payment Admin API, read only for the booking of Plus (same host, same credentials):
- GET /api/v1/orders/{orderId}   the checkout order a report row's `orderId` names: MerchantOrderId,
                                 Currency, OrderAmount, IsCompany, NationalId, BillingAddress
                                 {FullName}, OrderRows [{ArticleNumber, Name, Quantity, UnitPrice,
                                 DiscountPercent, VatPercent, IsCancelled}] and Deliveries
                                 [{Credits [{Amount, OrderRows}]}]. Svea's "minor units"
                                 everywhere: UnitPrice in öre including VAT, Quantity in
                                 hundredths (100 = 1), VatPercent and DiscountPercent in
                                 hundredths of a percent (2500 = 25 %).

Auth, per request: `Authorization: Svea base64(merchantId:sha512hex(body + secret + timestamp))`
and `Timestamp: yyyy-MM-dd HH:mm:ss` in UTC (the body is empty for a GET). Credentials:
merchant_id, secret. A 401 means a wrong secret or a clock more than a few minutes off.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from shops.clients.base import ApiClient
from shops.clients.errors import ApiError, NotFound
from shops.clients.types import (
    GatewayOrder,
    GatewayOrderLine,
    GatewayPayout,
    GatewayRefund,
    GatewayTransaction,
)

REPORTS_PATH = "/api/v2/reports"
ORDERS_PATH = "/api/v1/orders"
CENT = Decimal("0.01")
FEE_ROWS = frozenset({"Fee", "Withholding"})


def minor(value: Any) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def authorization(merchant_id: str, secret: str, timestamp: str, body: str = "") -> str:
    digest = hashlib.sha512((body + secret + timestamp).encode()).hexdigest()
    return "Svea " + base64.b64encode(f"{merchant_id}:{digest}".encode()).decode()


class SveaClient(ApiClient):
    system = "Svea"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reports: dict[datetime.date, tuple[dict[str, Any], bytes]] = {}

    def auth_headers(self) -> dict[str, str]:
        # A fresh timestamp for every attempt: Svea refuses one that is minutes old.
        timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        credentials = self.connection.credentials
        return {
            "Authorization": authorization(
                str(credentials.get("merchant_id", "")),
                str(credentials.get("secret", "")),
                timestamp,
            ),
            "Timestamp": timestamp,
        }

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # ASP.NET problem details {title, status, errors: {"<field>": ["…"]}} or {message}.
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict):
            return response.text[:300] or response.reason, ""
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            field = next(iter(errors))
            text = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
            return f"{body.get('title', 'Validation failed')} {text}", str(field)
        return str(body.get("message") or body.get("title") or response.reason), ""

    def _decoded(self, response: requests.Response) -> Any:
        # Reports are kept as the bytes Svea sent, for payout_file; parsed where they are read.
        return response.content

    # --- orders (Payment Admin API) ------------------------------------------------------------

    def gateway_order(self, order_id: str) -> GatewayOrder:
        """The checkout order a report row names (its `orderId`), with its rows and the credits
        of its deliveries; NotFound when Svea has no such order."""
        if not str(order_id).isdigit():
            raise ValueError(f"A Svea order id is a number, not {order_id!r}")
        content = self.request("GET", f"{ORDERS_PATH}/{order_id}") or b""
        try:
            return _order(json.loads(content))
        except ValueError:
            raise ApiError(f"Svea answered order {order_id} with a body that is not JSON") from None

    # --- reports -------------------------------------------------------------------------------

    def report(self, day: datetime.date) -> dict[str, Any]:
        """The reconciliation report of `day`, withheld amounts included."""
        return self._report(day)[0]

    def _report(self, day: datetime.date) -> tuple[dict[str, Any], bytes]:
        if day not in self._reports:
            params = {"date": day.isoformat(), "includeWithholding": "true"}
            content = self.request("GET", REPORTS_PATH, params=params) or b""
            try:
                self._reports[day] = (json.loads(content), content)
            except ValueError:
                raise ApiError(
                    f"Svea answered the report of {day} with a body that is not JSON"
                ) from None
        return self._reports[day]

    def payouts(
        self, *, date_min: datetime.date | None = None, date_max: datetime.date | None = None
    ) -> Iterator[GatewayPayout]:
        """Payouts within the dates (inclusive; default: the last 31 days), one report a day,
        oldest first; days without a payout are skipped."""
        last = date_max or datetime.date.today()
        day = date_min or last - datetime.timedelta(days=30)
        while day <= last:
            data = self.report(day)
            if data.get("rows") or data.get("payoutAmount"):
                yield self._payout(data)
            day += datetime.timedelta(days=1)

    def payout(self, payout_id: str) -> GatewayPayout:
        data = self.report(_day(payout_id))
        if not data.get("rows") and not data.get("payoutAmount"):
            raise NotFound(f"Svea made no payout on {payout_id}.")
        return self._payout(data)

    def payout_transactions(self, payout_id: str) -> Iterator[GatewayTransaction]:
        """The rows of the day's report; with the withheld fees their `net` sums to the payout."""
        data = self.report(_day(payout_id))
        for index, row in enumerate(data.get("rows") or []):
            yield self._transaction(row, data, index)

    def payout_file(self, payout_id: str) -> tuple[str, bytes]:
        """Svea's report of the payout's day (JSON), unchanged."""
        return f"svea-report-{payout_id}.json", self._report(_day(payout_id))[1]

    # --- Svea → dataclasses --------------------------------------------------------------------

    def _payout(self, data: dict[str, Any]) -> GatewayPayout:
        rows = data.get("rows") or []
        fees = -sum(
            (minor(r.get("amount")) for r in rows if r.get("transactionType") in FEE_ROWS),
            Decimal("0.00"),
        )
        gross = sum(
            (minor(r.get("amount")) for r in rows if r.get("transactionType") not in FEE_ROWS),
            Decimal("0.00"),
        )
        return GatewayPayout(
            payout_id=str(data["reportDate"]),
            status="paid",
            date=_day(str(data["reportDate"])),
            currency=str(data.get("currency") or "SEK"),
            amount=minor(data.get("payoutAmount")),
            gross=gross,
            fees=fees,
            provider="svea",
            raw={k: v for k, v in data.items() if k != "rows"},
        )

    def _transaction(
        self, row: dict[str, Any], data: dict[str, Any], index: int
    ) -> GatewayTransaction:
        kind = str(row.get("transactionType") or "")
        value = minor(row.get("amount"))
        # Withheld fees come as negative rows: read them as a positive cost, like other fees.
        amount, fee = (Decimal("0.00"), -value) if kind in FEE_ROWS else (value, Decimal("0.00"))
        return GatewayTransaction(
            transaction_id=str(row.get("transactionId") or f"{data['reportDate']}/{index}"),
            payout_id=str(data["reportDate"]),
            kind=kind,
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=str(row.get("currency") or data.get("currency") or "SEK"),
            order_reference=str(row.get("externalOrderNo") or ""),
            source_id=str(row.get("orderId") or ""),
            source_type=str(row.get("paymentType") or ""),
            processed_at=_time(
                str(row.get("transactionDate") or f"{data['reportDate']}T00:00:00Z")
            ),
            provider="svea",
            raw=row,
        )


def _day(payout_id: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(payout_id)
    except ValueError:
        raise NotFound(
            f"A Svea payout id is the payout's date (YYYY-MM-DD), not {payout_id!r}."
        ) from None


def _order_line(row: dict[str, Any]) -> GatewayOrderLine:
    quantity = Decimal(int(row.get("Quantity") or 0)).scaleb(-2)
    unit_price = minor(row.get("UnitPrice"))  # including VAT
    rate = Decimal(int(row.get("VatPercent") or 0)).scaleb(-2).normalize()
    discount = Decimal(int(row.get("DiscountPercent") or 0)).scaleb(-2)
    before = (quantity * unit_price).quantize(CENT, ROUND_HALF_UP)
    total = (before * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    return GatewayOrderLine(
        reference=str(row.get("ArticleNumber") or ""),
        name=str(row.get("Name") or ""),
        kind="",
        quantity=quantity,
        unit_price=unit_price,
        vat_rate=rate,
        total_amount=total,
        total_tax_amount=total - (total * 100 / (100 + rate)).quantize(CENT, ROUND_HALF_UP),
        total_discount_amount=before - total,
    )


def _order(data: dict[str, Any]) -> GatewayOrder:
    credits = [
        (delivery, index, credit)
        for delivery in data.get("Deliveries") or []
        for index, credit in enumerate(delivery.get("Credits") or [])
    ]
    billing = data.get("BillingAddress") or {}
    company = bool(data.get("IsCompany"))
    return GatewayOrder(
        order_id=str(data.get("Id") or ""),
        order_reference=str(data.get("MerchantOrderId") or ""),
        currency=str(data.get("Currency") or "SEK"),
        amount=minor(data.get("OrderAmount")),
        lines=tuple(
            _order_line(row) for row in data.get("OrderRows") or [] if not row.get("IsCancelled")
        ),
        # A credit has no id of its own at Svea: its delivery and place name it.
        refunds=tuple(
            GatewayRefund(
                refund_id=f"{delivery.get('Id')}/{index}",
                amount=minor(credit.get("Amount")),
                lines=tuple(_order_line(row) for row in credit.get("OrderRows") or []),
            )
            for delivery, index, credit in credits
        ),
        organisation_number=str(data.get("NationalId") or "") if company else "",
        company_name=str(billing.get("FullName") or "") if company else "",
        country=str(billing.get("CountryCode") or "").upper(),
        provider="svea",
        raw=data,
    )
