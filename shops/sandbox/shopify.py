"""Shopify as the sandbox serves it under /shopify/<shop slug> (the shop's admin host):
- POST /admin/api/2025-01/graphql.json                 the GraphQL Admin API, for exactly the
  operations shops/clients/shopify_queries.py sends (dispatched on the top-level field; values
  come from `variables`), with extensions.cost and THROTTLED from a per-shop cost bucket;
  productVariants pages by cursor (sortKey ID); productSet creates a product with its variant
- GET  /admin/api/2025-01/shopify_payments/…           Shopify Payments REST (shopify_payments.py)
Requests need `X-Shopify-Access-Token` for this shop. Answers return whole stored objects rather
than only the selected fields: a superset our client ignores, and much less sandbox.

Test hooks (POST /_sandbox/shopify/<action>, body {"shop": slug, …}):
- orders    {"orders": [{"number", "lines": [[sku, qty]], …build_order options}]} adds orders;
            {"orders": [{"number": 1008, "displayFinancialStatus": "PAID"}]} changes one
- throttle  {"maximum", "available", "restore_rate"} sets the GraphQL cost bucket;
            {"rest_size", "rest_used", "rest_leak_rate"} the REST leaky bucket
- stock     {"sku", "location_id", "delta"}: a sale (negative) or a return in the shop
- faults    {"operation": "fulfillmentCreate", "faults": ["timeout", "500"]}: the next requests
            running that top-level field fail so ("timeout" does the work after the client gave
            up), for faults aimed at one operation where every request shares one path
- webhook   {"topic", "order": number, "url"?}: a webhook signed like Shopify signs it
            (X-Shopify-Hmac-Sha256 with the app's client_secret); POSTed to url when given
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import hashlib
import hmac
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import requests

from shops.sandbox import shopify_data as data
from shops.sandbox.shopify_mutations import MUTATIONS, variant_shape
from shops.sandbox.shopify_payments import RestBucket, ShopifyPaymentsSandbox, rest_error
from shops.sandbox.shopify_search import search
from shops.sandbox.state import Request, Response, SandboxState, now_utc, parse_datetime

API_VERSION = "2025-01"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
PAYMENTS_PREFIX = f"/admin/api/{API_VERSION}/shopify_payments/"
MAX_QUERY_COST = 1000
MUTATION_COST = 10
_TOP_FIELD = re.compile(r"^\s*(query|mutation)\b[^{]*\{\s*(\w+)")


@dataclasses.dataclass
class CostBucket:
    """Shopify's GraphQL leaky bucket: points, not requests (standard plan figures)."""

    maximum: float = 2000.0
    available: float = 2000.0
    restore_rate: float = 100.0
    at: float = dataclasses.field(default_factory=time.monotonic)

    def refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available, 1),
            "restoreRate": self.restore_rate,
        }


@dataclasses.dataclass
class Shop:
    slug: str
    token: str
    secret: str
    orders: list[dict[str, Any]]
    products: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    bucket: CostBucket = dataclasses.field(default_factory=CostBucket)
    rest: RestBucket = dataclasses.field(default_factory=RestBucket)
    create_calls: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    throttled: int = 0
    notifications: int = 0
    serial: int = 900_000

    def next_id(self, kind: str) -> str:
        self.serial += 1
        return f"gid://shopify/{kind}/{self.serial}"

    def order(self, order_id: str) -> dict[str, Any] | None:
        return next((o for o in self.orders if o["id"] == order_id), None)

    def touch(self, order: dict[str, Any]) -> None:
        """Bump updatedAt past every other order, as a real change would."""
        newest = max(parse_datetime(o["updatedAt"]) for o in self.orders)
        now = max(parse_datetime(now_utc()), newest + datetime.timedelta(seconds=1))
        order["updatedAt"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")


def graphql_error(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


class ShopifySandbox:
    name = "shopify"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        if tenant not in data.CREDENTIALS:
            raise LookupError(f"No Shopify demo shop for {tenant!r}")
        return f"{root.rstrip('/')}/shopify/{tenant}", dict(data.CREDENTIALS[tenant])

    def reset(self, state: SandboxState) -> None:
        self.shops: dict[str, Shop] = {}
        for tenant in data.SHOPIFY_TENANTS:
            products, variants = data.catalogue(tenant)
            self.shops[tenant] = Shop(
                slug=tenant,
                token=data.CREDENTIALS[tenant]["access_token"],
                secret=data.CREDENTIALS[tenant]["client_secret"],
                orders=data.shopify_orders(tenant),
                products=products,
                variants=variants,
            )
        self.operation_faults: dict[str, list[str]] = {}

    def is_token_path(self, path: str) -> bool:
        return False  # offline tokens are issued at install time, not fetched

    def snapshot(self) -> dict[str, Any]:
        totals: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for shop in self.shops.values():
            for kind, counts in shop.create_calls.items():
                totals[kind].update(counts)
        return {
            "create_calls": {kind: dict(counts) for kind, counts in totals.items()},
            "shops": {
                slug: {
                    "orders": shop.orders,
                    "products": shop.products,
                    "variants": [variant_shape(v) for v in shop.variants],
                    "create_calls": {k: dict(c) for k, c in shop.create_calls.items()},
                    "throttled": shop.throttled,
                    "notifications": shop.notifications,
                    "bucket": shop.bucket.status(),
                    "rest_bucket": shop.rest.status(),
                }
                for slug, shop in self.shops.items()
            },
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return rest_error(
                429, "Exceeded 2 calls per second for api client.", {"Retry-After": "1.0"}
            )
        if kind == "502":
            return Response(
                502, "<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"}
            )
        return rest_error(500, "Internal Server Error")

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        slug, _, rest = request.path.lstrip("/").partition("/")
        path = "/" + rest
        fault = self._operation_fault(request, state) if path == GRAPHQL_PATH else None
        if fault == "timeout":
            time.sleep(state.options.timeout_sleep_s)  # unlocked: others carry on meanwhile
        elif fault:
            return self.fault_response(fault, state)
        with state.lock:
            shop = self.shops.get(slug)
            if shop is None:
                return rest_error(404, "Not Found")
            given = request.header("X-Shopify-Access-Token").encode()
            if not hmac.compare_digest(given, shop.token.encode()):
                return rest_error(
                    401,
                    "[API] Invalid API key or access token (unrecognized login or wrong password)",
                )
            if path.startswith(PAYMENTS_PREFIX):
                payments = state.systems["shopify_payments"]
                assert isinstance(payments, ShopifyPaymentsSandbox)
                return payments.serve(request, path, shop.rest, slug)
            if path == GRAPHQL_PATH and request.method == "POST":
                return self._graphql(request, shop)
            return rest_error(404, "Not Found")

    def _operation_fault(self, request: Request, state: SandboxState) -> str | None:
        try:
            match = _TOP_FIELD.match(str((request.json() or {}).get("query") or ""))
        except (ValueError, AttributeError):
            return None
        with state.lock:
            pending = self.operation_faults.get(match.group(2)) if match else None
            return pending.pop(0) if pending else None

    def _graphql(self, request: Request, shop: Shop) -> Response:
        try:
            body = request.json() or {}
            document, variables = str(body["query"]), dict(body.get("variables") or {})
        except (ValueError, KeyError, TypeError):
            return rest_error(400, "Bad Request: the body must be JSON with a query")
        match = _TOP_FIELD.match(document)
        if not match:
            return Response(200, {"errors": [graphql_error("Parse error", "PARSE_ERROR")]})
        kind, field = match.groups()
        resolver = (MUTATIONS if kind == "mutation" else QUERIES).get(field)
        if resolver is None:
            root = "Mutation" if kind == "mutation" else "QueryRoot"
            message = f"Field '{field}' doesn't exist on type '{root}'"
            return Response(200, {"errors": [graphql_error(message, "undefinedField")]})
        requested = (
            MUTATION_COST if kind == "mutation" else _requested_cost(field, variables, document)
        )
        shop.bucket.refill()
        cost: dict[str, Any] = {"requestedQueryCost": requested, "actualQueryCost": None}
        if requested > MAX_QUERY_COST:
            message = f"Query cost is {requested}, which exceeds the single query max cost limit"
            error = graphql_error(
                message, "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_QUERY_COST
            )
            return Response(200, {"errors": [error]})
        if requested > shop.bucket.available:
            # Refused before anything runs: the whole point of cost-based throttling.
            shop.throttled += 1
            cost["throttleStatus"] = shop.bucket.status()
            error = graphql_error(
                "Throttled", "THROTTLED", documentation="https://shopify.dev/api/usage/limits"
            )
            return Response(200, {"errors": [error], "extensions": {"cost": cost}})
        try:
            result = resolver(shop, variables)
        except ValueError as exc:  # an unreadable search query or cursor
            return Response(200, {"errors": [graphql_error(str(exc), "BAD_REQUEST")]})
        actual = (
            requested
            if kind == "mutation"
            else min(requested, _actual_cost(field, result, document))
        )
        shop.bucket.available -= actual
        cost.update(actualQueryCost=actual, throttleStatus=shop.bucket.status())
        return Response(200, {"data": {field: copy.deepcopy(result)}, "extensions": {"cost": cost}})

    # --- test hooks ----------------------------------------------------------------------------

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if not isinstance(body, dict):
            return Response(400, {"error": "The body must be a JSON object"})
        with state.lock:
            if action == "faults":
                kinds = [str(k) for k in body.get("faults") or []]
                if set(kinds) - {"timeout", "500", "502", "429"}:
                    raise ValueError(f"Unknown fault kind(s) in {kinds}")
                self.operation_faults.setdefault(str(body["operation"]), []).extend(kinds)
                return Response(200, {"scripted": self.operation_faults})
            shop = self.shops.get(str(body.get("shop", "")))
            if shop is None:
                return Response(400, {"error": f"Unknown shop {body.get('shop')!r}"})
            if action == "orders":
                return Response(
                    200, {"orders": [_upsert(shop, o) for o in body.get("orders") or []]}
                )
            if action == "throttle":
                return Response(200, _throttle(shop, body))
            if action == "stock":
                return _stock_hook(shop, body)
            if action != "webhook":
                return Response(404, {"error": f"No sandbox action {action!r} for shopify"})
            message = _webhook(shop, body)
        return Response(200, _deliver(message, body.get("url")))


# --- queries -------------------------------------------------------------------------------------


def _requested_cost(field: str, variables: dict[str, Any], document: str = "") -> int:
    first = int(variables.get("first") or 1)
    if field == "orders":
        return 2 + first * (14 + int(variables.get("lines") or 0))
    if field == "productVariants":
        # Stock levels are a connection per variant: they make a variant ten times dearer.
        return 2 + first * (25 if "inventoryLevels" in document else 3)
    return {"order": 30, "shop": 1}.get(field, 1)


def _actual_cost(field: str, result: Any, document: str) -> int:
    if field == "orders":
        nodes = result["nodes"]
        return 2 + sum(14 + len(n["lineItems"]["nodes"]) for n in nodes)
    if field == "productVariants" and "inventoryLevels" not in document:
        return 2 + 2 * len(result["nodes"])
    if field == "productVariants":
        return 2 + sum(
            5 + 2 * len(n["inventoryItem"]["inventoryLevels"]["nodes"]) for n in result["nodes"]
        )
    return _requested_cost(field, {})


def _cursor(key: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _orders(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    def key(order: dict[str, Any]) -> tuple[str, int]:
        return (order["updatedAt"], int(order["legacyResourceId"]))

    predicate = search(str(variables.get("query") or ""), ORDER_FIELDS)
    found = sorted(
        (o for o in shop.orders if predicate(o)),
        key=lambda o: (parse_datetime(o["updatedAt"]), key(o)[1]),
    )
    if variables.get("after"):
        try:
            since = json.loads(base64.urlsafe_b64decode(str(variables["after"]).encode()))
            since_key = (parse_datetime(since[0]), int(since[1]))
        except (ValueError, TypeError, IndexError):
            raise ValueError("Invalid cursor.") from None
        found = [o for o in found if (parse_datetime(o["updatedAt"]), key(o)[1]) > since_key]
    first = int(variables.get("first") or 10)
    page, lines = found[:first], int(variables.get("lines") or 250)
    nodes = [{**o, "lineItems": {"nodes": o["lineItems"]["nodes"][:lines]}} for o in page]
    return {
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": len(found) > first,
            "hasPreviousPage": bool(variables.get("after")),
            "endCursor": _cursor(key(page[-1])) if page else None,
            "startCursor": _cursor(key(page[0])) if page else None,
        },
    }


def _order(shop: Shop, variables: dict[str, Any]) -> dict[str, Any] | None:
    return shop.order(str(variables.get("id") or ""))


ORDER_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda o: int(o["legacyResourceId"]),
    "name": lambda o: o["name"].lstrip("#"),
    "updated_at": lambda o: parse_datetime(o["updatedAt"]),
    "created_at": lambda o: parse_datetime(o["createdAt"]),
    "financial_status": lambda o: o["displayFinancialStatus"].lower(),
}
VARIANT_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "sku": lambda v: v["sku"],
    "product_id": lambda v: int(v["product"]["id"].rsplit("/", 1)[-1]),
}


def _product_variants(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    """Variants matching `query`, by id (sortKey ID), a page of `first` after the cursor."""
    predicate = search(str(variables.get("query") or ""), VARIANT_FIELDS)
    found = sorted((v for v in shop.variants if predicate(v)), key=_legacy_id)
    if variables.get("after"):
        try:
            since = int(json.loads(base64.urlsafe_b64decode(str(variables["after"]).encode()))[1])
        except (ValueError, TypeError, IndexError):
            raise ValueError("Invalid cursor.") from None
        found = [v for v in found if _legacy_id(v) > since]
    first = int(variables.get("first") or 10)
    page = found[:first]
    products = {p["id"]: p for p in shop.products}
    nodes = [
        {**variant_shape(v), "product": products.get(v["product"]["id"], v["product"])}
        for v in page
    ]
    return {
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": len(found) > first,
            "endCursor": _cursor(("id", _legacy_id(page[-1]))) if page else None,
        },
    }


def _legacy_id(record: dict[str, Any]) -> int:
    return int(str(record["id"]).rsplit("/", 1)[-1])


def _shop(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data.SHOP_NAMES[shop.slug],
        "currencyCode": data.CURRENCY,
        "taxesIncluded": True,
        "myshopifyDomain": f"{shop.slug}.myshopify.com",
    }


QUERIES: dict[str, Callable[[Shop, dict[str, Any]], Any]] = {
    "orders": _orders,
    "order": _order,
    "productVariants": _product_variants,
    "shop": _shop,
}


# --- hooks ---------------------------------------------------------------------------------------


def _upsert(shop: Shop, change: dict[str, Any]) -> dict[str, Any]:
    change = dict(change)
    number = int(change.pop("number"))
    existing = next((o for o in shop.orders if o["name"] == f"#{number}"), None)
    if existing is not None:
        existing.update(change)
        if "updatedAt" not in change:
            shop.touch(existing)
        return existing
    lines = [(str(sku), int(quantity)) for sku, quantity in change.pop("lines", None) or []]
    unknown = {sku for sku, _ in lines} - {v["sku"] for v in shop.variants}
    if not lines or unknown:
        raise ValueError(f"A new order needs lines of known SKUs (unknown: {sorted(unknown)})")
    buyer = change.pop("buyer", None) or data.person(
        "Test", "Testsson", "Testgatan 1", "111 11", "Stockholm"
    )
    created = now_utc()
    order = data.build_order(
        shop.slug, number, created, created, buyer, lines, variants=shop.variants, **change
    )
    shop.orders.append(order)
    shop.touch(order)
    return order


def _throttle(shop: Shop, body: dict[str, Any]) -> dict[str, Any]:
    shop.bucket.refill()
    for key, attribute in (
        ("maximum", "maximum"),
        ("available", "available"),
        ("restore_rate", "restore_rate"),
    ):
        if key in body:
            setattr(shop.bucket, attribute, float(body[key]))
    for key, attribute in (
        ("rest_size", "size"),
        ("rest_used", "used"),
        ("rest_leak_rate", "leak_rate"),
    ):
        if key in body:
            setattr(shop.rest, attribute, float(body[key]))
    shop.rest.at = time.monotonic()
    return {"bucket": shop.bucket.status(), "rest_bucket": shop.rest.status()}


def _stock_hook(shop: Shop, body: dict[str, Any]) -> Response:
    variant = next((v for v in shop.variants if v["sku"] == body.get("sku")), None)
    level = next(
        (
            lv
            for lv in (variant or {}).get("inventoryItem", {}).get("levels", [])
            if lv["location"]["id"] == body.get("location_id")
        ),
        None,
    )
    if variant is None or level is None:
        return Response(400, {"error": "Unknown sku or location"})
    level["quantities"]["available"] += int(body.get("delta", 0))
    level["quantities"]["on_hand"] += int(body.get("delta", 0))
    return Response(200, {"sku": variant["sku"], "quantities": level["quantities"]})


def _webhook(shop: Shop, body: dict[str, Any]) -> dict[str, Any]:
    order = (
        next((o for o in shop.orders if o["name"] == f"#{body.get('order')}"), None)
        or shop.orders[0]
    )
    # Webhook bodies are REST-shaped (snake_case), whatever API the app otherwise uses.
    payload = {
        "id": int(order["legacyResourceId"]),
        "admin_graphql_api_id": order["id"],
        "name": order["name"],
        "updated_at": order["updatedAt"],
        "currency": order["currencyCode"],
        "total_price": order["totalPriceSet"]["shopMoney"]["amount"],
        "financial_status": order["displayFinancialStatus"].lower(),
    }
    raw = json.dumps(payload, ensure_ascii=False)
    signature = base64.b64encode(
        hmac.new(shop.secret.encode(), raw.encode(), hashlib.sha256).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": str(body.get("topic") or "orders/updated"),
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": f"{shop.slug}.myshopify.com",
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Webhook-Id": shop.next_id("Webhook").rsplit("/", 1)[-1],
    }
    return {"headers": headers, "body": raw}


def _deliver(message: dict[str, Any], url: str | None) -> dict[str, Any]:
    """POST the webhook to `url` (outside the state lock: the receiver may call us back)."""
    if url:
        answer = requests.post(
            url, data=message["body"].encode(), headers=message["headers"], timeout=5
        )
        message["delivered_status"] = answer.status_code
    return message
