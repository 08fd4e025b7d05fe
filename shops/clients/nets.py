"""Nets Easy (Nexi Checkout) Reporting API: payouts and the payments each settles.

- GET /report/v1/payouts              fromDate, toDate (full dates, required), pageNumber,
                                      pageSize; {"numberOfPayouts": total, "payouts": […]}
- GET /report/v1/payouts/{payoutId}   the payout with the payments, refunds and chargebacks it
                                      settles
base_url: https://api.dibspayment.eu (test: https://test.api.dibspayment.eu).

Payment API v1 (same host, same key), read only for the booking of Plus:
- GET /v1/payments/{paymentId}        {"payment": {orderDetails {amount, currency, reference},
                                      consumer {company {name, registrationNumber}},
                                      charges [{chargeId, amount, orderItems}], refunds [{refundId,
                                      amount, orderItems}]}}; an order item is {reference, name,
                                      quantity, unit, unitPrice (excluding VAT), taxRate (hundredths
                                      of a percent: 2500), taxAmount, grossTotalAmount,
                                      netTotalAmount}, amounts in minor units. A payout payment's
                                      `paymentId` names the payment.

Nexi documents the paths, the paging and `numberOfPayouts`; the names of the fields inside a
payout (payoutId, payoutDate, currency, grossAmount, feeAmount, netAmount, payments[] with
orderReference, transactionType, grossAmount, feeAmount, netAmount) follow our sandbox, which
renders the Easy Portal's payout view: check them against a live account before go-live.
Amounts are integers in minor units, as in all Nexi Checkout APIs; converted here, once.

Credentials: the merchant's `secret_key`, sent as the whole Authorization header (Nexi's way:
no "Bearer"). A 401 means the key was rotated or revoked: only the merchant can fix it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from shops.clients.base import ApiClient
from shops.clients.errors import ApiError
from shops.clients.types import (
    GatewayOrder,
    GatewayOrderLine,
    GatewayPayout,
    GatewayRefund,
    GatewayTransaction,
)

PAYOUTS_PATH = "/report/v1/payouts"
PAYMENTS_PATH = "/v1/payments"


def minor(value: Any) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-2)


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class NetsClient(ApiClient):
    system = "Nets Easy"
    PAGE_SIZE = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._want_bytes = False
        self._details: dict[str, tuple[dict[str, Any], bytes]] = {}

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": str(self.connection.credentials.get("secret_key", ""))}

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # ASP.NET model errors {"errors": {"<field>": ["…"]}}, or {"message": "…"}, or nothing.
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict):
            return response.text[:300] or response.reason, ""
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            field, messages = next(iter(errors.items()))
            text = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
            return text, str(field)
        return str(body.get("message") or body.get("title") or response.reason), ""

    # --- payouts -------------------------------------------------------------------------------

    def payouts(
        self,
        *,
        date_min: datetime.date | None = None,
        date_max: datetime.date | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[GatewayPayout]:
        """Payouts dated within the dates (inclusive; default: the last 31 days)."""
        last = date_max or datetime.date.today()
        first = date_min or last - datetime.timedelta(days=30)
        number, seen = 1, 0
        while True:
            params = {
                "fromDate": first.isoformat(),
                "toDate": last.isoformat(),
                "pageNumber": number,
                "pageSize": page_size,
            }
            body = self.request("GET", PAYOUTS_PATH, params=params) or {}
            page = body.get("payouts") or []
            yield from (self._payout(p) for p in page)
            seen += len(page)
            if not page or seen >= int(body.get("numberOfPayouts") or 0):
                return
            number += 1

    def payout(self, payout_id: str) -> GatewayPayout:
        return self._payout(self._detail(payout_id)[0])

    def payout_transactions(self, payout_id: str) -> Iterator[GatewayTransaction]:
        """The payments, refunds and chargebacks the payout settles; their `net` sums to it."""
        detail = self._detail(payout_id)[0]
        for payment in detail.get("payments") or []:
            yield self._transaction(payment, detail)

    def payout_file(self, payout_id: str) -> tuple[str, bytes]:
        """Nexi has no settlement file of its own over the API: the payout's JSON, unchanged."""
        return f"nets-payout-{payout_id}.json", self._detail(payout_id)[1]

    def _detail(self, payout_id: str) -> tuple[dict[str, Any], bytes]:
        if payout_id not in self._details:
            # Read as bytes, so payout_file hands over exactly what Nexi sent.
            self._want_bytes = True
            try:
                content = self.request("GET", f"{PAYOUTS_PATH}/{payout_id}")
            finally:
                self._want_bytes = False
            try:
                self._details[payout_id] = (json.loads(content), content)
            except ValueError:
                raise ApiError(
                    f"Nets answered payout {payout_id} with a body that is not JSON"
                ) from None
        return self._details[payout_id]

    def _decoded(self, response: requests.Response) -> Any:
        return response.content if self._want_bytes else super()._decoded(response)

    # --- payments (Payment API) ----------------------------------------------------------------

    def gateway_order(self, payment_id: str) -> GatewayOrder:
        """The payment a payout row names (its `paymentId`), with the items it charged and the
        refunds with the items that went back; NotFound when Nexi has no such payment."""
        if not payment_id:
            raise ValueError("A Nets payment id is required")
        body = self.request("GET", f"{PAYMENTS_PATH}/{quote(payment_id, safe='')}") or {}
        return _order(body.get("payment") or {})

    # --- Nexi → dataclasses --------------------------------------------------------------------

    def _payout(self, data: dict[str, Any]) -> GatewayPayout:
        return GatewayPayout(
            payout_id=str(data["payoutId"]),
            status="paid",  # the Reporting API lists payouts made
            date=datetime.date.fromisoformat(str(data["payoutDate"])[:10]),
            currency=str(data.get("currency") or "SEK"),
            amount=minor(data.get("netAmount")),
            gross=minor(data.get("grossAmount")),
            fees=minor(data.get("feeAmount")),
            provider="nets",
            raw=data,
        )

    def _transaction(self, data: dict[str, Any], payout: dict[str, Any]) -> GatewayTransaction:
        return GatewayTransaction(
            transaction_id=str(data.get("transactionId") or data.get("paymentId") or ""),
            payout_id=str(payout["payoutId"]),
            kind=str(data.get("transactionType") or ""),
            amount=minor(data.get("grossAmount")),
            fee=minor(data.get("feeAmount")),
            net=minor(data.get("netAmount")),
            currency=str(payout.get("currency") or "SEK"),
            order_reference=str(data.get("orderReference") or ""),
            source_id=str(data.get("paymentId") or ""),
            source_type="payment",
            processed_at=_time(str(data["transactionDate"])),
            provider="nets",
            raw=data,
        )


def _order_line(item: dict[str, Any]) -> GatewayOrderLine:
    rate = minor(item.get("taxRate")).normalize()  # 2500 → 25
    quantity = Decimal(str(item.get("quantity") or 0))
    net_unit = minor(item.get("unitPrice"))
    return GatewayOrderLine(
        reference=str(item.get("reference") or ""),
        name=str(item.get("name") or ""),
        kind="",
        quantity=quantity,
        unit_price=(net_unit * (100 + rate) / 100).quantize(Decimal("0.01")),
        vat_rate=rate,
        total_amount=minor(item.get("grossTotalAmount")),
        total_tax_amount=minor(item.get("taxAmount")),
        total_discount_amount=Decimal("0.00"),
    )


def _order(data: dict[str, Any]) -> GatewayOrder:
    details = data.get("orderDetails") or {}
    company = (data.get("consumer") or {}).get("company") or {}
    return GatewayOrder(
        order_id=str(data.get("paymentId") or ""),
        order_reference=str(details.get("reference") or ""),
        currency=str(details.get("currency") or "SEK"),
        amount=minor(details.get("amount")),
        # What was charged is what was sold (an order item not charged is no sale yet).
        lines=tuple(
            _order_line(item)
            for charge in data.get("charges") or []
            for item in charge.get("orderItems") or []
        ),
        refunds=tuple(
            GatewayRefund(
                refund_id=str(refund.get("refundId") or ""),
                amount=minor(refund.get("amount")),
                lines=tuple(_order_line(item) for item in refund.get("orderItems") or []),
            )
            for refund in data.get("refunds") or []
        ),
        organisation_number=str(company.get("registrationNumber") or ""),
        company_name=str(company.get("name") or ""),
        provider="nets",
        raw=data,
    )
