"""Shopify Payments: payouts and the balance transactions each payout settles (read only).

REST, because that is where these resources live at Shopify:
- GET /admin/api/2025-01/shopify_payments/payouts.json            newest first
- GET /admin/api/2025-01/shopify_payments/payouts/<id>.json
- GET /admin/api/2025-01/shopify_payments/balance/transactions.json?payout_id=<id>
Lists page with the `Link` header (rel="next" carries an opaque page_info; on the following
pages only `limit` may accompany it). Amounts are signed decimal strings; fees are positive.

The connection has the same base_url and access token as the shop's Shopify connection.

Rate limit: REST is a leaky bucket per shop and app (40 calls, leaking 2 per second on the
standard plan). Our workers share it through the common limiter (RATE_LIMIT, keyed by the shop's
host, not the endpoint: the bucket is the shop's); other apps of the merchant's draw from it too,
which only Shopify sees, so we also read `X-Shopify-Shop-Api-Call-Limit: used/size` on every
answer and slow down while it is nearly full. A 429 is retried after its Retry-After (GETs only).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

from shops.clients import ratelimit
from shops.clients.base import ApiClient
from shops.clients.errors import ApiError
from shops.clients.shopify import API_VERSION, ShopifyAuth
from shops.clients.types import GatewayPayout, GatewayTransaction

logger = logging.getLogger(__name__)

PAYMENTS_PATH = f"/admin/api/{API_VERSION}/shopify_payments"
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class ShopifyPaymentsClient(ShopifyAuth, ApiClient):
    system = "Shopify Payments"
    PAGE_SIZE = 50  # Shopify allows up to 250
    # 40 per 20 s never overfills a 40-call bucket that leaks 2 per second, whatever the timing.
    RATE_LIMIT = ratelimit.Limit(requests=40, per_seconds=20)
    # Keep this many calls free in the REST bucket, for the shop's other apps and our workers.
    REST_HEADROOM = 2
    REST_LEAK_PER_SECOND = 2.0  # the standard plan's; Plus leaks faster, so this is cautious

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_response: requests.Response | None = None

    def rate_limit_key(self, method: str, path: str) -> str:
        return (
            f"shopify-rest|{urlsplit(self.base_url).netloc.lower()}|{urlsplit(self.base_url).path}"
        )

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = super().send(method, url, **kwargs)
        self._last_response = response
        self._slow_down_if_nearly_full(response)
        return response

    def _slow_down_if_nearly_full(self, response: requests.Response) -> None:
        if response.status_code == 429:
            return  # the base waits for the Retry-After Shopify named
        used, _, size = response.headers.get(CALL_LIMIT_HEADER, "").partition("/")
        if not (used.strip().isdigit() and size.strip().isdigit()):
            return
        excess = int(used) - (int(size) - self.REST_HEADROOM)
        if excess > 0:
            pause = min(excess / self.REST_LEAK_PER_SECOND, self.MAX_RETRY_AFTER)
            logger.info("Shopify REST bucket at %s/%s, pausing %.1f s", used, size, pause)
            time.sleep(pause)

    # --- pagination ----------------------------------------------------------------------------

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[list[dict]]:
        """Every page of a REST list, following Link rel="next"."""
        url: str | None = path
        query: dict[str, Any] | None = {**params, "limit": params.get("limit") or self.PAGE_SIZE}
        while url:
            body = self.request("GET", url, params=query) or {}
            yield body.get(key) or []
            url = self._next_page_url()
            query = None  # the next link carries page_info and limit itself

    def _next_page_url(self) -> str | None:
        response = self._last_response
        link = (response.links.get("next") or {}).get("url") if response is not None else None
        if not link:
            return None
        # The access token goes wherever the link points: only ever to this shop.
        if not link.startswith(self.base_url + "/"):
            raise ApiError(f"Shopify's next-page link leaves the shop: {link[:100]}")
        return link

    # --- payouts -------------------------------------------------------------------------------

    def payouts(
        self,
        *,
        date_min: datetime.date | None = None,
        date_max: datetime.date | None = None,
        status: str = "",
    ) -> Iterator[GatewayPayout]:
        """Payouts, newest first, optionally within dates (inclusive) or of one status."""
        params: dict[str, Any] = {}
        if date_min:
            params["date_min"] = date_min.isoformat()
        if date_max:
            params["date_max"] = date_max.isoformat()
        if status:
            params["status"] = status
        for rows in self._pages(f"{PAYMENTS_PATH}/payouts.json", "payouts", params):
            yield from (payout_from_shopify(row) for row in rows)

    def payout(self, payout_id: str) -> GatewayPayout:
        body = self.request("GET", f"{PAYMENTS_PATH}/payouts/{int(payout_id)}.json")
        return payout_from_shopify(body["payout"])

    def payout_transactions(self, payout_id: str) -> Iterator[GatewayTransaction]:
        """The balance transactions a payout settles, its own `payout` transaction included
        (amount = minus the payout), so they sum to zero."""
        params = {"payout_id": int(payout_id)}
        path = f"{PAYMENTS_PATH}/balance/transactions.json"
        for rows in self._pages(path, "transactions", params):
            yield from (transaction_from_shopify(row) for row in rows)


# --- Shopify → dataclasses ---------------------------------------------------------------------

_SUMMARY_KINDS = ("adjustments", "charges", "refunds", "reserved_funds", "retried_payouts")


def payout_from_shopify(data: dict[str, Any]) -> GatewayPayout:
    summary = data.get("summary") or {}
    return GatewayPayout(
        payout_id=str(data["id"]),
        status=str(data.get("status") or ""),
        date=datetime.date.fromisoformat(str(data["date"])[:10]),
        currency=str(data.get("currency") or "SEK"),
        amount=_dec(data.get("amount")),
        gross=sum((_dec(summary.get(f"{k}_gross_amount")) for k in _SUMMARY_KINDS), Decimal(0)),
        fees=sum((_dec(summary.get(f"{k}_fee_amount")) for k in _SUMMARY_KINDS), Decimal(0)),
    )


def transaction_from_shopify(data: dict[str, Any]) -> GatewayTransaction:
    return GatewayTransaction(
        transaction_id=str(data["id"]),
        payout_id=str(data.get("payout_id") or ""),
        kind=str(data.get("type") or ""),
        amount=_dec(data.get("amount")),
        fee=_dec(data.get("fee")),
        net=_dec(data.get("net")),
        currency=str(data.get("currency") or "SEK"),
        order_reference=str(data.get("source_order_id") or ""),
        source_id=str(data.get("source_id") or ""),
        source_type=str(data.get("source_type") or ""),
        processed_at=_time(str(data["processed_at"])),
    )
