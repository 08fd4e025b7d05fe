"""Klarna Settlements API v1: payouts, the transactions each settles, and the CSV report.

specs/klarna-settlements-v1.openapi.yml, below https://api.klarna.com/settlements/v1:
- GET /payouts                       start_date, end_date, size (≤ 500), offset;
                                     {payouts, pagination {count, total, next, prev, offset}}
- GET /payouts/{payment_reference}
- GET /transactions?payment_reference=     the same pagination
- GET /reports/payout-with-transactions?payment_reference=   the settlement report (CSV)

Amounts are integers in minor units and unsigned: the transaction's type says which way the
money went (Klarna's settlement docs: + sale, − return, − reversal, − fee, …). They are turned
into signed Decimals here, once. `merchant_reference1` is the merchant's order number.

Order Management API v1 (same host, same credentials), read only for the booking of Plus:
- GET /ordermanagement/v1/orders/{order_id}   the order with its `order_lines` (reference, name,
                                              quantity, unit_price, tax_rate in hundredths of a
                                              percent, total_amount, total_tax_amount,
                                              total_discount_amount: minor units, VAT included),
                                              `refunds` (each with the lines that came back),
                                              `billing_address` and `customer` (B2B:
                                              organization_registration_id)
A settlement transaction's `order_id` is Klarna's id of that order.

Credentials: HTTP Basic with the merchant's API `username` and `password` (Merchant Portal →
Settings → Klarna API credentials). There is no token to refresh: a 401 means the credentials
were revoked, which only the merchant can fix.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from shops.clients.base import ApiClient
from shops.clients.types import (
    GatewayOrder,
    GatewayOrderLine,
    GatewayPayout,
    GatewayRefund,
    GatewayTransaction,
)

PREFIX = "/settlements/v1"
ORDERS = "/ordermanagement/v1/orders"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Which way each transaction type moves the merchant's money (Klarna's "calculation of the
# settlement amount"). Fees are kept apart from amounts, so a payout's gross and fees add up.
AMOUNT_SIGN = {
    "SALE": 1,
    "RETURN": -1,
    "REVERSAL": -1,
    "REVERSAL_MERCHANT_PROTECTION": 1,
    "COMMISSION": 1,
    "CHARGE": -1,
    "CREDIT": 1,
    "HOLDBACK": -1,
    "RELEASE": 1,
    "CORRECTION": 1,  # already signed by Klarna
}
FEE_SIGN = {"FEE": 1, "TAX": 1, "FEE_REFUND": -1}


def minor(value: Any) -> Decimal:
    """Klarna's minor units (öre, cent) as a Decimal in major units, exactly."""
    return Decimal(int(value or 0)).scaleb(-2)


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class KlarnaClient(ApiClient):
    system = "Klarna"
    PAGE_SIZE = 500  # Klarna's maximum

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._want_bytes = False

    def auth_headers(self) -> dict[str, str]:
        credentials = self.connection.credentials
        pair = f"{credentials.get('username', '')}:{credentials.get('password', '')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # ErrorResponse {error_code, error_messages[], correlation_id}; Klarna names no field.
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict) or "error_code" not in body:
            return response.text[:300] or response.reason, ""
        messages = "; ".join(str(m) for m in body.get("error_messages") or [])
        correlation = body.get("correlation_id", "")
        return f"{body['error_code']}: {messages} (correlation id {correlation})", ""

    def _decoded(self, response: requests.Response) -> Any:
        # The settlement report is CSV: handed over as the bytes Klarna sent.
        return response.content if self._want_bytes else super()._decoded(response)

    # --- payouts -------------------------------------------------------------------------------

    def payouts_page(
        self,
        *,
        date_min: datetime.date | None = None,
        date_max: datetime.date | None = None,
        offset: int = 0,
        size: int = PAGE_SIZE,
    ) -> tuple[list[GatewayPayout], int]:
        """One page of payouts (newest first) and how many there are in all."""
        params: dict[str, Any] = {"offset": offset, "size": size}
        # Full date-times: a bare date means midnight, which would cut the last day (the spec).
        if date_min:
            params["start_date"] = f"{date_min.isoformat()}T00:00:00Z"
        if date_max:
            params["end_date"] = f"{date_max.isoformat()}T23:59:59Z"
        body = self.request("GET", f"{PREFIX}/payouts", params=params) or {}
        pagination = body.get("pagination") or {}
        payouts = [self._payout(p) for p in body.get("payouts") or []]
        return payouts, int(pagination.get("total") or len(payouts))

    def payouts(
        self,
        *,
        date_min: datetime.date | None = None,
        date_max: datetime.date | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[GatewayPayout]:
        """Every payout whose payout date is within the dates (inclusive), newest first."""
        offset = 0
        while True:
            page, total = self.payouts_page(
                date_min=date_min, date_max=date_max, offset=offset, size=page_size
            )
            yield from page
            offset += len(page)
            if not page or offset >= total:
                return

    def payout(self, payout_id: str) -> GatewayPayout:
        return self._payout(self.request("GET", f"{PREFIX}/payouts/{payout_id}"))

    def payout_transactions(
        self, payout_id: str, *, page_size: int = PAGE_SIZE
    ) -> Iterator[GatewayTransaction]:
        """The transactions a payout settles; their `net` sums to the payout's amount."""
        offset = 0
        while True:
            params = {"payment_reference": payout_id, "offset": offset, "size": page_size}
            body = self.request("GET", f"{PREFIX}/transactions", params=params) or {}
            rows = body.get("transactions") or []
            yield from (self._transaction(row, payout_id) for row in rows)
            offset += len(rows)
            total = int((body.get("pagination") or {}).get("total") or 0)
            if not rows or offset >= total:
                return

    def payout_file(self, payout_id: str) -> tuple[str, bytes]:
        """Klarna's settlement report of the payout (CSV, one row per transaction), unchanged."""
        self._want_bytes = True
        try:
            content = self.request(
                "GET",
                f"{PREFIX}/reports/payout-with-transactions",
                params={"payment_reference": payout_id},
            )
        finally:
            self._want_bytes = False
        return f"klarna-settlement-{payout_id}.csv", content

    # --- orders (Order Management API) ------------------------------------------------------

    def gateway_order(self, order_id: str) -> GatewayOrder:
        """The order a settlement transaction belongs to (its `order_id`), with its lines and
        refunds; NotFound when Klarna has no such order."""
        if not order_id:
            raise ValueError("A Klarna order id is required")
        return _order(self.request("GET", f"{ORDERS}/{quote(order_id, safe='')}") or {})

    # --- Klarna → dataclasses ------------------------------------------------------------------

    def _payout(self, data: dict[str, Any]) -> GatewayPayout:
        totals = data.get("totals") or {}
        net = minor(totals.get("settlement_amount"))
        fees = (
            minor(totals.get("fee_amount"))
            + minor(totals.get("tax_amount"))
            - minor(totals.get("fee_refund_amount"))
            - minor(totals.get("fee_correction_amount"))
            - minor(totals.get("tax_refund_amount"))
        )
        return GatewayPayout(
            payout_id=str(data["payment_reference"]),
            status="paid",  # Klarna lists only payouts it has made
            # The payout date as a Swedish bank statement shows it.
            date=_time(data["payout_date"]).astimezone(STOCKHOLM).date(),
            currency=str(data.get("currency_code") or "SEK"),
            amount=net,
            gross=net + fees,  # sales, returns, reversals, holdbacks… everything but fees
            fees=fees,
            provider="klarna",
            raw=data,
        )

    def _transaction(self, data: dict[str, Any], payout_id: str) -> GatewayTransaction:
        kind = str(data.get("type") or "")
        if kind not in AMOUNT_SIGN and kind not in FEE_SIGN:
            # Guessing the direction of money is worse than stopping with a clear error.
            raise ValueError(f"Klarna transaction type {kind!r} is unknown: cannot sign it")
        value = minor(data.get("amount"))
        amount = AMOUNT_SIGN.get(kind, 0) * value
        fee = FEE_SIGN.get(kind, 0) * value
        # Klarna has no id per row: a sale and its fee share the capture id.
        own_id = (
            data.get("capture_id")
            or data.get("refund_id")
            or data.get("reversal_reference")
            or data.get("order_id")
        )
        return GatewayTransaction(
            transaction_id=f"{kind}/{own_id}",
            payout_id=str(data.get("payment_reference") or payout_id),
            kind=kind,
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=str(data.get("currency_code") or "SEK"),
            order_reference=str(data.get("merchant_reference1") or ""),
            source_id=str(data.get("order_id") or ""),
            source_type="order",
            processed_at=_time(str(data.get("capture_date") or data["sale_date"])),
            provider="klarna",
            raw=data,
        )


def _order_line(data: dict[str, Any]) -> GatewayOrderLine:
    return GatewayOrderLine(
        reference=str(data.get("reference") or ""),
        name=str(data.get("name") or ""),
        kind=str(data.get("type") or ""),
        quantity=Decimal(str(data.get("quantity") or 0)),
        unit_price=minor(data.get("unit_price")),
        vat_rate=minor(data.get("tax_rate")).normalize(),  # 2500 → 25
        total_amount=minor(data.get("total_amount")),
        total_tax_amount=minor(data.get("total_tax_amount")),
        total_discount_amount=minor(data.get("total_discount_amount")),
    )


def _refund(data: dict[str, Any]) -> GatewayRefund:
    return GatewayRefund(
        refund_id=str(data.get("refund_id") or ""),
        amount=minor(data.get("refunded_amount")),
        lines=tuple(_order_line(line) for line in data.get("order_lines") or []),
    )


def _order(data: dict[str, Any]) -> GatewayOrder:
    customer = data.get("customer") or {}
    billing = data.get("billing_address") or {}
    return GatewayOrder(
        order_id=str(data.get("order_id") or ""),
        order_reference=str(data.get("merchant_reference1") or ""),
        currency=str(data.get("purchase_currency") or "SEK"),
        amount=minor(data.get("order_amount")),
        lines=tuple(_order_line(line) for line in data.get("order_lines") or []),
        refunds=tuple(_refund(refund) for refund in data.get("refunds") or []),
        organisation_number=str(customer.get("organization_registration_id") or ""),
        company_name=str(billing.get("organization_name") or ""),
        country=str(billing.get("country") or data.get("purchase_country") or "").upper(),
        provider="klarna",
        raw=data,
    )
