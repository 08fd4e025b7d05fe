"""Shopify: orders, variants, stock, prices, fulfilment and capture over the GraphQL Admin API;
the catalogue (listing and creating products) is in shopify_products.py.

REST is legacy at Shopify, so everything here is GraphQL (`POST /admin/api/2025-01/graphql.json`
with `X-Shopify-Access-Token`); only Shopify Payments (shopify_payments.py) still needs REST.

base_url is the shop's admin host: https://<shop>.myshopify.com in production,
{SANDBOX_URL}/shopify/<slug> in the sandbox. Credentials: access_token (an offline Admin API
token, which does not expire: a 401 means the app was uninstalled) and client_secret (the app's
secret, which signs webhooks; see shops.webhooks).

Rate limits: GraphQL is throttled by query cost, not by request count. Every answer reports the
shop's bucket (extensions.cost.throttleStatus); we remember it and the cost each operation asked
for, and pause before a request the bucket could not pay for rather than be refused. A THROTTLED
answer means nothing was executed, so even a mutation may be sent again after the computed pause.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from shops.clients import shopify_queries as q
from shops.clients.base import ApiClient
from shops.clients.errors import (
    ApiError,
    AuthExpired,
    OutcomeUnknown,
    RateLimited,
    RemoteDown,
    ValidationFailed,
)
from shops.clients.shopify_orders import OrderCursor, order_from_shopify
from shops.clients.shopify_products import ShopifyCatalogue
from shops.clients.types import (
    OrderPage,
    ShopOrder,
    ShopPriceChange,
    ShopStockChange,
    ShopStockLevel,
    ShopVariant,
)
from shops.models import Connection

logger = logging.getLogger(__name__)

API_VERSION = "2025-01"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
_OPERATION = re.compile(r"^\s*(query|mutation)\s+(\w+)")


class StaleStock(ValidationFailed):
    """The stock changed between our read and our write (a sale, a return): nothing was set.
    Read again and decide again; never force the old answer through."""


@dataclass
class CostBucket:
    """The shop's GraphQL cost bucket as last reported, and when."""

    maximum: float
    available: float
    restore_rate: float
    seen_at: float

    def pause_before(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` points, restoring at `restore_rate`."""
        now_available = min(
            self.maximum, self.available + self.restore_rate * (time.monotonic() - self.seen_at)
        )
        if now_available >= cost or self.restore_rate <= 0:
            return 0.0
        return (cost - now_available) / self.restore_rate


def gid(kind: str, legacy_id: str) -> str:
    return legacy_id if legacy_id.startswith("gid://") else f"gid://shopify/{kind}/{legacy_id}"


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _search_value(value: str) -> str:
    """A value for Shopify's search syntax, quoted so spaces and colons stay part of it."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ShopifyAuth:
    """The header every Shopify Admin call carries (shared with ShopifyPaymentsClient)."""

    connection: Connection

    def auth_headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": str(self.connection.credentials.get("access_token", ""))}

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # {"errors": "text"}, {"errors": [{"message"}]} or {"errors": {"field": ["message"]}}.
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            return response.text[:300] or response.reason, ""
        if isinstance(errors, dict) and errors:
            field, messages = next(iter(errors.items()))
            text = messages[0] if isinstance(messages, list) and messages else messages
            return f"{field} {text}", str(field)
        if isinstance(errors, list) and errors:
            return str(errors[0].get("message") if isinstance(errors[0], dict) else errors[0]), ""
        return str(errors or response.reason), ""


class ShopifyClient(ShopifyCatalogue, ShopifyAuth, ApiClient):
    system = "Shopify"
    ORDERS_PAGE_SIZE = 10  # with 50 line items each this asks for ~600 points: under the 1000 cap
    LINES_PER_ORDER = 50

    def __init__(
        self, connection: Connection, *, wait_when_throttled: bool = True, **options: Any
    ) -> None:
        super().__init__(connection, **options)
        # False: a THROTTLED answer raises RateLimited at once (the caller reschedules).
        self.wait_when_throttled = wait_when_throttled
        self.bucket: CostBucket | None = None
        self.requested_cost: dict[str, float] = {}

    # --- GraphQL -------------------------------------------------------------------------------

    def graphql(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one named operation; return its `data`. Queries are retried like GETs; mutations
        only after THROTTLED/429, which Shopify answers before executing anything."""
        match = _OPERATION.match(document)
        if not match:
            raise ValueError("A Shopify document must start with a named query or mutation.")
        is_mutation, operation = match.group(1) == "mutation", match.group(2)
        attempt = 0
        while True:
            attempt += 1
            try:
                self._pace(operation)
                return self._graphql_once(document, variables or {}, operation, is_mutation)
            except RateLimited as exc:
                if not self.wait_when_throttled or attempt >= self.GET_ATTEMPTS:
                    raise
                if exc.retry_after > self.MAX_RETRY_AFTER:
                    raise
                logger.info("Shopify %s throttled, retrying in %.2f s", operation, exc.retry_after)
                time.sleep(exc.retry_after)
            except RemoteDown as exc:
                if is_mutation or attempt >= self.GET_ATTEMPTS:
                    raise
                pause = self.RETRY_BACKOFF[min(attempt - 1, len(self.RETRY_BACKOFF) - 1)]
                logger.info("Shopify %s: %s, retrying in %.1f s", operation, exc.message, pause)
                time.sleep(pause)

    def _pace(self, operation: str) -> None:
        """Wait until the bucket can pay for what this operation asked last time."""
        cost = self.requested_cost.get(operation)
        if not self.wait_when_throttled or self.bucket is None or cost is None:
            return
        if cost > self.bucket.maximum:
            return  # no wait helps; Shopify will answer MAX_COST_EXCEEDED
        pause = self.bucket.pause_before(cost)
        if pause > self.MAX_RETRY_AFTER:
            raise RateLimited(
                f"Shopify's query budget needs {pause:.1f} s to refill", retry_after=pause
            )
        if pause > 0:
            time.sleep(pause)

    def _graphql_once(
        self, document: str, variables: dict[str, Any], operation: str, is_mutation: bool
    ) -> dict[str, Any]:
        try:
            response = self.send(
                "POST",
                self.url(GRAPHQL_PATH),
                json={"query": document, "variables": variables, "operationName": operation},
                headers={**self.auth_headers(), "Content-Type": "application/json"},
            )
        except OutcomeUnknown as exc:
            if is_mutation:
                raise
            # A query changes nothing: a lost answer is only a failed read, safe to repeat.
            raise RemoteDown(
                exc.message.replace("; the write may have happened", ""), exchange=exc.exchange
            ) from exc
        self.raise_for_status(response)
        body = self._decoded(response) or {}
        cost = (body.get("extensions") or {}).get("cost") or {}
        self._remember_cost(operation, cost)
        if body.get("errors"):
            raise self._graphql_error(operation, body["errors"], cost)
        return body.get("data") or {}

    def _remember_cost(self, operation: str, cost: dict[str, Any]) -> None:
        status = cost.get("throttleStatus")
        if cost.get("requestedQueryCost") is not None:
            self.requested_cost[operation] = float(cost["requestedQueryCost"])
        if status:
            self.bucket = CostBucket(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                seen_at=time.monotonic(),
            )

    def _graphql_error(
        self, operation: str, errors: list[dict[str, Any]], cost: dict[str, Any]
    ) -> ApiError:
        exchange = self.last_exchange.as_dict() if self.last_exchange else None
        first = errors[0] if errors and isinstance(errors[0], dict) else {"message": str(errors)}
        code = str((first.get("extensions") or {}).get("code") or "")
        message = f"Shopify refused {operation}: {first.get('message', '')}"
        if code == "THROTTLED":
            requested = float(cost.get("requestedQueryCost") or 0)
            status = cost.get("throttleStatus") or {}
            missing = requested - float(status.get("currentlyAvailable") or 0)
            rate = float(status.get("restoreRate") or 0)
            # Exactly as long as the bucket takes to refill what is missing, and a hair more.
            retry_after = round(max(missing, 1.0) / rate + 0.05, 2) if rate > 0 else 1.0
            return RateLimited(message, retry_after=retry_after, exchange=exchange)
        if code == "ACCESS_DENIED":
            return AuthExpired(f"{message} (the app lacks a scope)", exchange=exchange)
        if code in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"):
            return RemoteDown(message, exchange=exchange)
        return ApiError(f"{message} ({code})" if code else message, exchange=exchange)

    def _payload(self, data: dict[str, Any], mutation: str) -> dict[str, Any]:
        """A mutation's payload, raising on its userErrors (which name the offending field)."""
        payload = data.get(mutation) or {}
        user_errors = payload.get("userErrors") or []
        if not user_errors:
            return payload
        first = user_errors[0]
        field = ".".join(str(p) for p in first.get("field") or [])
        code = str(first.get("code") or "")
        message = f"Shopify refused {mutation}: {first.get('message', '')}"
        if field:
            message += f" ({field})"
        exchange = self.last_exchange.as_dict() if self.last_exchange else None
        if code in ("COMPARE_QUANTITY_STALE", "CHANGE_FROM_QUANTITY_STALE"):
            raise StaleStock(message, field=field, exchange=exchange)
        raise ValidationFailed(message, field=field, exchange=exchange)

    # --- shop ----------------------------------------------------------------------------------

    def prices_include_tax(self) -> bool:
        """Whether the shop's prices include VAT (Swedish shops: almost always)."""
        return bool(self.graphql(q.SHOP)["shop"]["taxesIncluded"])

    # --- orders --------------------------------------------------------------------------------

    def orders_page(self, cursor: str = "", page_size: int = 0) -> OrderPage:
        return self._orders_page(cursor, page_size or self.ORDERS_PAGE_SIZE)[0]

    def iter_orders(self, cursor: str = "", page_size: int = 0) -> Iterator[OrderPage]:
        """Pages until the shop has nothing newer. Save `page.next_cursor` after each page."""
        while True:
            page, more = self._orders_page(cursor, page_size or self.ORDERS_PAGE_SIZE)
            if page.orders:
                yield page
            if not more:
                if not page.orders and page.next_cursor != cursor:
                    yield page  # the sweep ended on an empty page: still save where we are
                return
            cursor = page.next_cursor

    def _orders_page(self, cursor: str, page_size: int) -> tuple[OrderPage, bool]:
        position = OrderCursor.decode(cursor)
        variables: dict[str, Any] = {
            "first": page_size,
            "lines": self.LINES_PER_ORDER,
            "after": position.after or None,
            "query": f"updated_at:>='{position.since}'" if position.since else None,
        }
        connection = self.graphql(q.ORDERS, variables)["orders"]
        nodes = connection.get("nodes") or []
        info = connection.get("pageInfo") or {}
        fresh = [n for n in nodes if not position.already_seen(n)]
        orders = [order_from_shopify(node) for node in fresh]
        if info.get("hasNextPage"):
            following = OrderCursor(position.since, position.seen, str(info["endCursor"]))
            return OrderPage(orders, following.encode()), True
        return OrderPage(orders, position.after_sweep(nodes).encode()), False

    def orders_by_id(self, order_ids: list[str]) -> list[ShopOrder]:
        """Specific orders by the id in ShopOrder.shop_order_id (pending transfers, retries)."""
        ids = [i.rsplit("/", 1)[-1] for i in order_ids]
        return self._orders_where([f"id:{i}" for i in ids if i.isdigit()])

    def orders_by_number(self, numbers: list[str]) -> list[ShopOrder]:
        return self._orders_where([f"name:{_search_value(n.lstrip('#'))}" for n in numbers])

    def _orders_where(self, terms: list[str], chunk: int = 10) -> list[ShopOrder]:
        orders: list[ShopOrder] = []
        for start in range(0, len(terms), chunk):
            part = terms[start : start + chunk]
            variables = {
                "first": len(part),
                "lines": self.LINES_PER_ORDER,
                "after": None,
                "query": " OR ".join(part),
            }
            nodes = self.graphql(q.ORDERS, variables)["orders"].get("nodes") or []
            orders.extend(order_from_shopify(node) for node in nodes)
        return orders

    # --- variants, stock and prices ------------------------------------------------------------

    def variants_by_sku(self, skus: list[str], chunk: int = 10) -> dict[str, ShopVariant]:
        """The variants with these SKUs, by SKU (a SKU the shop lacks is simply absent)."""
        found: dict[str, ShopVariant] = {}
        for start in range(0, len(skus), chunk):
            part = skus[start : start + chunk]
            query = " OR ".join(f"sku:{_search_value(s)}" for s in part)
            data = self.graphql(q.VARIANTS, {"first": len(part) * 2, "query": query})
            for node in data["productVariants"].get("nodes") or []:
                # Shopify's search is fuzzy about SKUs; only an exact match is the article.
                if node.get("sku") in part:
                    found[node["sku"]] = _variant(node)
        return found

    def set_stock(self, changes: list[ShopStockChange], *, reference: str = "") -> None:
        """Set available quantities, compare-and-set: all or nothing. Raises StaleStock when
        any quantity is no longer what we read (then nothing was changed)."""
        if not changes:
            return
        quantities: list[dict[str, Any]] = []
        for change in changes:
            quantity: dict[str, Any] = {
                "inventoryItemId": change.inventory_item_id,
                "locationId": change.location_id,
                "quantity": change.quantity,
            }
            if change.expected is not None:
                quantity["compareQuantity"] = change.expected
            quantities.append(quantity)
        stock_input: dict[str, Any] = {
            "name": "available",
            "reason": "correction",
            "ignoreCompareQuantity": any(c.expected is None for c in changes),
            "quantities": quantities,
        }
        if reference:
            stock_input["referenceDocumentUri"] = reference
        data = self.graphql(q.SET_STOCK, {"input": stock_input})
        self._payload(data, "inventorySetQuantities")

    def adjust_stock(
        self, inventory_item_id: str, location_id: str, delta: int, *, reference: str = ""
    ) -> int:
        """Change available stock by `delta`; return the quantity after. Not idempotent: after
        OutcomeUnknown, read the level before adjusting again."""
        adjust_input: dict[str, Any] = {
            "name": "available",
            "reason": "correction",
            "changes": [
                {"inventoryItemId": inventory_item_id, "locationId": location_id, "delta": delta}
            ],
        }
        if reference:
            adjust_input["referenceDocumentUri"] = reference
        payload = self._payload(
            self.graphql(q.ADJUST_STOCK, {"input": adjust_input}), "inventoryAdjustQuantities"
        )
        changes = (payload.get("inventoryAdjustmentGroup") or {}).get("changes") or []
        return int(changes[0]["quantityAfterChange"]) if changes else 0

    def set_prices(self, changes: list[ShopPriceChange]) -> None:
        """New prices (and "was" prices), one request per product. Setting a price twice is
        harmless, so a retry after OutcomeUnknown may simply send it again."""
        by_product: dict[str, list[ShopPriceChange]] = {}
        for change in changes:
            by_product.setdefault(change.product_id, []).append(change)
        for product_id, product_changes in by_product.items():
            variants = [
                {
                    "id": c.variant_id,
                    "price": str(c.price),
                    "compareAtPrice": None
                    if c.compare_at_price is None
                    else str(c.compare_at_price),
                }
                for c in product_changes
            ]
            data = self.graphql(q.SET_PRICES, {"productId": product_id, "variants": variants})
            self._payload(data, "productVariantsBulkUpdate")

    # --- fulfilment and capture ----------------------------------------------------------------

    def fulfil_order(
        self,
        order_id: str,
        *,
        tracking_number: str = "",
        tracking_company: str = "",
        tracking_url: str = "",
        notify_customer: bool = True,
    ) -> str:
        """Mark everything still open on the order as shipped; return the fulfilment's id.
        Exactly once: an order whose fulfilment orders are all closed is already done (e.g. by a
        request whose answer we lost), and its latest fulfilment is returned instead."""
        order = self.graphql(q.FULFILMENT_STATE, {"id": gid("Order", order_id)})["order"]
        if order is None:
            raise ValidationFailed(f"Shopify has no order {order_id}", field="id")
        open_orders = [
            node["id"]
            for node in order["fulfillmentOrders"]["nodes"]
            if node["status"] in ("OPEN", "IN_PROGRESS", "SCHEDULED")
        ]
        if not open_orders:
            done = order.get("fulfillments") or []
            if done:
                return str(done[-1]["id"])
            raise ValidationFailed(
                f"Order {order['name']} has nothing left to fulfil", field="fulfillmentOrders"
            )
        fulfilment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": i} for i in open_orders],
            "notifyCustomer": notify_customer,
        }
        if tracking_number or tracking_url:
            fulfilment["trackingInfo"] = {
                "number": tracking_number,
                "company": tracking_company,
                **({"url": tracking_url} if tracking_url else {}),
            }
        payload = self._payload(
            self.graphql(q.FULFIL, {"fulfillment": fulfilment}), "fulfillmentCreate"
        )
        return str(payload["fulfillment"]["id"])

    def capture_payment(self, order_id: str, amount: Decimal | None = None) -> str:
        """Capture what the authorisation holds (or `amount` of it); return the capture's id.
        Exactly once: nothing left to capture means an earlier capture went through."""
        order = self.graphql(q.CAPTURE_STATE, {"id": gid("Order", order_id)})["order"]
        if order is None:
            raise ValidationFailed(f"Shopify has no order {order_id}", field="id")
        transactions = order.get("transactions") or []
        capturable = _dec(order["totalCapturableSet"]["shopMoney"]["amount"])
        if not order.get("capturable") or capturable <= 0:
            captures = [
                t for t in transactions if t["kind"] == "CAPTURE" and t["status"] == "SUCCESS"
            ]
            if captures:
                return str(captures[-1]["id"])
            raise ValidationFailed(f"Order {order['name']} has nothing to capture", field="id")
        authorisation = next(
            (t for t in transactions if t["kind"] == "AUTHORIZATION" and t["status"] == "SUCCESS"),
            None,
        )
        if authorisation is None:
            raise ValidationFailed(
                f"Order {order['name']} has no authorisation to capture", field="transactions"
            )
        capture_input = {
            "id": order["id"],
            "parentTransactionId": authorisation["id"],
            "amount": str(capturable if amount is None else amount),
            "currency": order["presentmentCurrencyCode"],
        }
        payload = self._payload(self.graphql(q.CAPTURE, {"input": capture_input}), "orderCapture")
        return str(payload["transaction"]["id"])


# --- variants ------------------------------------------------------------------------------------


def _variant(node: dict[str, Any]) -> ShopVariant:
    product = node.get("product") or {}
    item = node.get("inventoryItem") or {}
    levels = ((item.get("inventoryLevels") or {}).get("nodes")) or []
    title = str(product.get("title") or "")
    if node.get("title") and node["title"] != "Default Title":
        title = f"{title} – {node['title']}"
    compare_at = node.get("compareAtPrice")
    return ShopVariant(
        variant_id=str(node["id"]),
        product_id=str(product.get("id") or ""),
        sku=str(node.get("sku") or ""),
        title=title,
        price=_dec(node.get("price")),
        compare_at_price=_dec(compare_at) if compare_at not in (None, "") else None,
        inventory_item_id=str(item.get("id") or ""),
        stock=[_stock_level(level) for level in levels],
        only_variant=bool(product.get("hasOnlyDefaultVariant", True)),
    )


def _stock_level(level: dict[str, Any]) -> ShopStockLevel:
    quantities = {q["name"]: int(q["quantity"]) for q in level.get("quantities") or []}
    location = level.get("location") or {}
    return ShopStockLevel(
        location_id=str(location.get("id") or ""),
        location_name=str(location.get("name") or ""),
        available=quantities.get("available", 0),
        on_hand=quantities.get("on_hand", 0),
    )
