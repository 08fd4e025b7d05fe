"""Shopify Payments (REST) as the sandbox serves it, under the shop's own admin host:
- GET /shopify/<slug>/admin/api/2025-01/shopify_payments/payouts.json        newest first
- GET /shopify/<slug>/admin/api/2025-01/shopify_payments/payouts/<id>.json
- GET /shopify/<slug>/admin/api/2025-01/shopify_payments/balance/transactions.json?payout_id=
ShopifySandbox checks the access token and hands these paths here. Lists page with `limit` (1–250,
default 50) and a `Link` header whose rel="next"/"previous" URLs carry page_info; with page_info
only `limit` may be given, as at Shopify. Every answer carries X-Shopify-Shop-Api-Call-Limit from
the shop's leaky bucket (40 calls, 2 leak per second), and a full bucket answers 429.

Registered as its own system (`shopify_payments`, the Connection platform) so seed_demo finds its
demo connection; requests sent to /shopify_payments/… are pointed at the shop's host instead.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import time
from typing import Any
from urllib.parse import urlencode

from shops.sandbox import shopify_data as data
from shops.sandbox.state import Request, Response, SandboxState

API_VERSION = "2025-01"
PREFIX = f"/admin/api/{API_VERSION}/shopify_payments/"
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
PAYOUT_FILTERS = ("date_min", "date_max", "date", "status", "since_id", "last_id")


def rest_error(status: int, errors: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"errors": errors}, dict(headers or {}))


@dataclasses.dataclass
class RestBucket:
    """The REST leaky bucket of one shop and app."""

    size: float = 40.0
    used: float = 0.0
    leak_rate: float = 2.0
    at: float = dataclasses.field(default_factory=time.monotonic)

    def take(self) -> float | None:
        """Count one call; return seconds to wait instead when the bucket is full."""
        now = time.monotonic()
        self.used = max(0.0, self.used - (now - self.at) * self.leak_rate)
        self.at = now
        if self.used + 1 > self.size:
            return (self.used + 1 - self.size) / self.leak_rate if self.leak_rate else 60.0
        self.used += 1
        return None

    def header(self) -> str:
        return f"{min(math.ceil(self.used), int(self.size))}/{int(self.size)}"

    def status(self) -> dict[str, float]:
        return {"size": self.size, "used": round(self.used, 2), "leak_rate": self.leak_rate}


def _page_info(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _read_page_info(token: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class ShopifyPaymentsSandbox:
    name = "shopify_payments"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        """The same shop host and token as the Shopify connection: one app, two uses."""
        if tenant not in data.CREDENTIALS:
            raise LookupError(f"No Shopify Payments demo account for {tenant!r}")
        return f"{root.rstrip('/')}/shopify/{tenant}", dict(data.CREDENTIALS[tenant])

    def reset(self, state: SandboxState) -> None:
        self.payouts: dict[str, list[dict[str, Any]]] = {
            tenant: data.shopify_payouts(tenant, data.shopify_orders(tenant))
            for tenant in data.SHOPIFY_TENANTS
        }

    def is_token_path(self, path: str) -> bool:
        return False

    def snapshot(self) -> dict[str, Any]:
        return {"shops": {slug: {"payouts": payouts} for slug, payouts in self.payouts.items()}}

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        status = int(kind) if kind.isdigit() else 500
        return rest_error(status, "Internal Server Error" if status >= 500 else "Too Many Requests")

    def handle(self, request: Request, state: SandboxState) -> Response:
        slug = request.path.lstrip("/").partition("/")[0]
        return rest_error(404, f"Shopify Payments is served by the shop: /shopify/{slug}{PREFIX}…")

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        return Response(404, {"error": f"No sandbox action {action!r} for shopify_payments"})

    # --- served through ShopifySandbox (token checked, state lock held) --------------------------

    def serve(self, request: Request, path: str, bucket: RestBucket, slug: str) -> Response:
        wait = bucket.take()
        limit_header = {"X-Shopify-Shop-Api-Call-Limit": bucket.header()}
        if wait is not None:
            message = (
                "Exceeded 2 calls per second for api client. "
                "Reduce request rates to resume uninterrupted service."
            )
            return rest_error(
                429, message, {**limit_header, "Retry-After": f"{max(wait, 0.1):.1f}"}
            )
        response = self._route(request, path.removeprefix(PREFIX), slug)
        response.headers.update(limit_header)
        return response

    def _route(self, request: Request, resource: str, slug: str) -> Response:
        if request.method != "GET":
            return rest_error(406, "Not Acceptable")
        payouts = self.payouts.get(slug, [])
        if resource == "payouts.json":
            return self._list(request, slug, resource, "payouts", self._payouts(payouts))
        if resource.startswith("payouts/") and resource.endswith(".json"):
            wanted = resource.removeprefix("payouts/").removesuffix(".json")
            found = next((p for p in payouts if str(p["id"]) == wanted), None)
            if found is None:
                return rest_error(404, "Not Found")
            return Response(200, {"payout": _public(found)})
        if resource == "balance/transactions.json":
            rows = [t for p in payouts for t in p["transactions"]]
            rows.sort(key=lambda t: -int(t["id"]))
            return self._list(request, slug, resource, "transactions", rows)
        return rest_error(404, "Not Found")

    @staticmethod
    def _payouts(payouts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            (_public(p) for p in payouts), key=lambda p: (p["date"], p["id"]), reverse=True
        )

    def _list(
        self, request: Request, slug: str, resource: str, key: str, rows: list[dict[str, Any]]
    ) -> Response:
        query = dict(request.query)
        try:
            limit = int(query.pop("limit", DEFAULT_LIMIT))
        except ValueError:
            return rest_error(400, {"limit": ["must be a number"]})
        if not 1 <= limit <= MAX_LIMIT:
            return rest_error(400, {"limit": [f"must be between 1 and {MAX_LIMIT}"]})
        query.pop("fields", None)
        position: dict[str, Any] = {"filters": query, "after": None, "before": None}
        if "page_info" in query:
            token = query.pop("page_info")
            decoded = _read_page_info(token)
            if query:
                return rest_error(400, {"page_info": ["Only limit may be given with page_info."]})
            if decoded is None:
                return rest_error(400, {"page_info": ["Invalid value."]})
            position = decoded
        rows = [r for r in rows if _matches(r, key, position["filters"])]
        ids = [r["id"] for r in rows]
        start = 0
        if position.get("after") in ids:
            start = ids.index(position["after"]) + 1
        elif position.get("before") in ids:
            start = max(0, ids.index(position["before"]) - limit)
        page = rows[start : start + limit]
        links = []
        base = f"http://{request.header('host')}/shopify/{slug}{PREFIX}{resource}"
        filters = position["filters"]
        if page and start + limit < len(rows):
            info = _page_info({"filters": filters, "after": page[-1]["id"], "before": None})
            links.append(f'<{base}?{urlencode({"limit": limit, "page_info": info})}>; rel="next"')
        if page and start > 0:
            info = _page_info({"filters": filters, "after": None, "before": page[0]["id"]})
            links.append(
                f'<{base}?{urlencode({"limit": limit, "page_info": info})}>; rel="previous"'
            )
        headers = {"Link": ", ".join(links)} if links else {}
        return Response(200, {key: page}, headers)


def _public(payout: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payout.items() if k != "transactions"}


def _matches(row: dict[str, Any], key: str, filters: dict[str, str]) -> bool:
    if key == "transactions":
        wanted = filters.get("payout_id")
        return not wanted or str(row.get("payout_id")) == wanted
    date = str(row["date"])
    checks = {
        "date_min": lambda v: date >= v,
        "date_max": lambda v: date <= v,
        "date": lambda v: date == v,
        "status": lambda v: row["status"] == v,
        "since_id": lambda v: int(row["id"]) > int(v),
        "last_id": lambda v: int(row["id"]) <= int(v),
    }
    return all(checks[name](value) for name, value in filters.items() if name in checks)
