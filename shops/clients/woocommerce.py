"""WooCommerce: orders, products and variations, stock, prices, order status and notes, over the
REST API v3 (`/wp-json/wc/v3/...`).

base_url is the merchant's WordPress site: https://shop.example.se in production,
{SANDBOX_URL}/woocommerce/<slug> in the sandbox. Credentials: consumer_key and consumer_secret
(a REST API key with read/write access, WooCommerce → Settings → Advanced → REST API), sent as
HTTP Basic auth, which WooCommerce accepts over HTTPS only; and webhook_secret, which signs the
webhooks WooCommerce sends us (see shops.webhooks). A key does not expire: a 401 means it was
revoked or lacks write access, which only the merchant can fix.

Lists are bare JSON arrays; how many pages there are is in the X-WP-TotalPages header. WooCommerce
itself has no rate limit, but many hosts have one (429 with Retry-After), which base.py honours.

Stock: WooCommerce has no compare-and-set. We send `inventory_delta` (supported by the v2/v3
product controllers since WooCommerce 3.0, though missing from the published docs) rather than an
absolute `stock_quantity`: WooCommerce reads the current stock, adds the delta and saves, inside
one request. A sale between our read and our write is therefore kept, not overwritten. What is
left is WooCommerce's own window between its read and its save (milliseconds, not our round
trip); a checkout that commits inside it can still be lost, and nothing in the API closes it.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from shops.clients.base import ApiClient
from shops.clients.errors import AuthExpired, OutcomeUnknown, ValidationFailed
from shops.clients.types import (
    OrderPage,
    ShopListedItem,
    ShopOrder,
    ShopPriceChange,
    ShopStockChange,
    ShopVariant,
)
from shops.clients.woocommerce_orders import OrderCursor, order_from_woocommerce, sort_key
from shops.clients.woocommerce_products import (
    FIELD_OF_CODE,
    SOLD_TYPES,
    BatchResult,
    CampaignPrice,
    collect_batch_answer,
    listed_from_woocommerce,
    rates_by_class,
    variant_from_woocommerce,
)

API = "/wp-json/wc/v3"
ORDERS = f"{API}/orders"
PRODUCTS = f"{API}/products"
TAXES = f"{API}/taxes"
MAX_PER_PAGE = 100
BATCH_LIMIT = 100  # WooCommerce's default woocommerce_rest_batch_items_limit, all actions together


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _money(value: Decimal) -> str:
    # WooCommerce's price fields are strings; a number is refused with rest_invalid_param.
    return str(value.quantize(Decimal("0.01")))


def _gmt(moment: datetime.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("Campaign dates must be timezone-aware")
    return moment.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WooCommerceClient(ApiClient):
    system = "WooCommerce"
    ORDERS_PAGE_SIZE: ClassVar[int] = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._basic = ""
        self._headers: requests.structures.CaseInsensitiveDict[str] | None = None

    # --- auth and errors -----------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        if not self._basic:
            parts = urlsplit(self.base_url)
            sandbox = self.base_url.startswith(settings.SANDBOX_URL.rstrip("/"))
            if parts.scheme != "https" and not sandbox and not _is_loopback(parts.hostname or ""):
                # WooCommerce ignores Basic auth over plain HTTP, and the key would travel in
                # clear text: refuse before sending it anywhere.
                raise AuthExpired(
                    "WooCommerce accepts REST API keys over HTTPS only: the shop address must "
                    "start with https://."
                )
            credentials = self.connection.credentials
            key, secret = credentials.get("consumer_key"), credentials.get("consumer_secret")
            if not key or not secret:
                raise AuthExpired("No WooCommerce REST API key: the merchant must create one.")
            self._basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {self._basic}"}

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # WordPress errors: {"code", "message", "data": {"status", "params": {field: why}}}.
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict) or "code" not in body:
            return response.text[:300] or response.reason, ""
        code, message = str(body["code"]), str(body.get("message") or response.reason)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        params = data.get("params")
        field_name = FIELD_OF_CODE.get(code, "")
        if isinstance(params, dict) and params:
            field_name = next(iter(params))
            message = "; ".join(f"{name}: {why}" for name, why in params.items())
        elif isinstance(params, list) and params:
            field_name = str(params[0])  # rest_missing_callback_param lists names only
        return f"{message} ({code})", field_name

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = super().send(method, url, **kwargs)
        self._headers = response.headers  # X-WP-TotalPages of the answer `request` returns
        return response

    # --- reading lists -------------------------------------------------------------------------

    def _page(self, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        items = self.request("GET", path, params=params) or []
        headers = self._headers or {}
        try:
            pages = int(headers.get("X-WP-TotalPages") or 1)
        except ValueError:
            pages = 1
        return items, pages

    def _all_pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            found, pages = self._page(path, {**params, "per_page": MAX_PER_PAGE, "page": page})
            items.extend(found)
            if page >= pages or not found:
                return items
            page += 1

    def prices_include_tax(self) -> bool:
        """Whether the shop's prices include VAT (the shop's tax setting)."""
        setting = self.request("GET", f"{API}/settings/tax/woocommerce_prices_include_tax")
        return str((setting or {}).get("value")) == "yes"

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
                return
            cursor = page.next_cursor

    def _orders_page(self, cursor: str, page_size: int) -> tuple[OrderPage, bool]:
        """Orders modified after `cursor`, oldest first, and whether there are more.

        WooCommerce sorts by modification time but promises nothing among orders modified in
        the same second. So a page is only trusted up to the last second it shows completely:
        the orders of its final second may continue on the next page, and are left for the
        next call (which starts again from the cursor, never from an offset that shifts when
        orders change meanwhile). Only when a whole page is one second do we read on."""
        position = OrderCursor.decode(cursor)
        params: dict[str, Any] = {
            "orderby": "modified",
            "order": "asc",
            "per_page": min(page_size, MAX_PER_PAGE),
            "dates_are_gmt": "true",
        }
        if position.modified:
            params["modified_after"] = position.window_start()
        seen: list[dict[str, Any]] = []
        page = 1
        while True:
            found, pages = self._page(ORDERS, {**params, "page": page})
            seen.extend(found)
            last = page >= pages or len(found) < params["per_page"]
            if last:
                ready = seen
                break
            newest = max(sort_key(o)[0] for o in seen)
            ready = [o for o in seen if sort_key(o)[0] < newest and position.is_new(o)]
            if ready:
                break
            page += 1
        fresh = sorted((o for o in ready if position.is_new(o)), key=sort_key)
        if not fresh:
            return OrderPage([], cursor), False
        following = OrderCursor(str(fresh[-1]["date_modified_gmt"]), int(fresh[-1]["id"]))
        return OrderPage([order_from_woocommerce(o) for o in fresh], following.encode()), not last

    def orders_by_id(self, order_ids: list[str]) -> list[ShopOrder]:
        """Specific orders, whatever the cursor says (resuming pending transfers, retries)."""
        return [order_from_woocommerce(o) for o in self._raw_orders_by_id(order_ids)]

    def _raw_orders_by_id(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = [str(i) for i in order_ids if str(i).isdigit()]
        found: list[dict[str, Any]] = []
        for part in _chunks(ids, MAX_PER_PAGE):
            found += self._all_pages(ORDERS, {"include": ",".join(part), "orderby": "include"})
        return found

    def orders_by_number(self, numbers: list[str]) -> list[ShopOrder]:
        """By the number the shopper sees. That is the id unless a plugin numbers orders; then
        WooCommerce's order search finds it, and only an exact match counts."""
        wanted = [n.lstrip("#") for n in numbers]
        found: dict[str, dict[str, Any]] = {}
        for order in self._raw_orders_by_id(n for n in wanted if n.isdigit()):
            if str(order.get("number")) in wanted:
                found[str(order["number"])] = order
        for number in wanted:
            if number not in found:
                matches, _pages = self._page(ORDERS, {"search": number, "per_page": MAX_PER_PAGE})
                exact = [o for o in matches if str(o.get("number")) == number]
                if exact:
                    found[number] = exact[0]
        return [order_from_woocommerce(o) for o in found.values()]

    def update_order_status(self, order_id: str, status: str) -> ShopOrder:
        """Setting a status twice changes nothing, so this may simply be sent again."""
        return order_from_woocommerce(
            self.request("PUT", f"{ORDERS}/{order_id}", json_body={"status": status})
        )

    def add_order_note(self, order_id: str, note: str, *, customer_note: bool = True) -> str:
        """Add a note (e-mailed to the shopper when `customer_note`); return its id. Exactly once:
        a note with the same text already on the order (e.g. from a request whose answer was
        lost) is returned instead of adding another e-mail to the shopper's inbox."""
        for existing in self.request("GET", f"{ORDERS}/{order_id}/notes") or []:
            if str(existing.get("note", "")).strip() == note.strip():
                return str(existing["id"])
        body = {"note": note, "customer_note": customer_note}
        return str(self.request("POST", f"{ORDERS}/{order_id}/notes", json_body=body)["id"])

    def fulfil_order(
        self,
        order_id: str,
        *,
        tracking_number: str = "",
        tracking_company: str = "",
        tracking_url: str = "",
        notify_customer: bool = True,
    ) -> str:
        """Mark the order completed and tell the shopper how to track it; return the note's id
        ("" without tracking). WooCommerce core has no shipments, so the tracking goes in an
        order note; both steps are safe to repeat."""
        self.update_order_status(order_id, "completed")
        if not (tracking_number or tracking_url):
            return ""
        note = _("Your order has been shipped with %(company)s. Tracking number: %(number)s.") % {
            "company": tracking_company or "-",
            "number": tracking_number or "-",
        }
        if tracking_url:
            note = f"{note} {tracking_url}"
        return self.add_order_note(order_id, note, customer_note=notify_customer)

    # --- products and variations ---------------------------------------------------------------

    def variants_by_sku(self, skus: list[str], chunk: int = MAX_PER_PAGE) -> dict[str, ShopVariant]:
        """Products and variations with these SKUs, by SKU (a SKU the shop lacks is absent).
        WooCommerce's `sku` filter takes a comma-separated list and searches variations too."""
        unique = list(dict.fromkeys(s for s in skus if s))
        # A SKU that itself contains a comma would be split by WooCommerce: ask for it alone.
        groups = [[s] for s in unique if "," in s]
        groups += _chunks([s for s in unique if "," not in s], chunk)
        found: dict[str, ShopVariant] = {}
        parents: dict[str, dict[str, Any]] = {}
        for part in groups:
            for item in self._all_pages(PRODUCTS, {"sku": ",".join(part)}):
                # The lookup is case-insensitive in MySQL; only an exact match is the article.
                # A variable product is not sold itself; only its stock may be kept on it.
                sellable = item.get("type") != "variable" or item.get("manage_stock") is True
                if item.get("sku") in part and sellable:
                    found[item["sku"]] = self._variant(item, parents)
        return found

    def listed_items(self) -> list[ShopListedItem]:
        """Every simple product and every variation of a variable product (each has its own
        SKU and is sold as itself), with its VAT rate from the shop's tax rates for Sweden."""
        include_tax = self.prices_include_tax()
        rates = rates_by_class(self._all_pages(TAXES, {}))
        listed: list[ShopListedItem] = []
        for product in self._all_pages(PRODUCTS, {"orderby": "id", "order": "asc"}):
            if product.get("type") == "variable":
                path = f"{PRODUCTS}/{product['id']}/variations"
                for variation in self._all_pages(path, {}):
                    listed.append(listed_from_woocommerce(variation, product, rates, include_tax))
            elif product.get("type") in SOLD_TYPES:
                listed.append(listed_from_woocommerce(product, product, rates, include_tax))
        return listed

    def variation_by_sku(self, product_id: str, sku: str) -> ShopVariant | None:
        for item in self._all_pages(f"{PRODUCTS}/{product_id}/variations", {"sku": sku}):
            if item.get("sku") == sku:
                return self._variant({**item, "parent_id": int(product_id)}, {})
        return None

    def _variant(self, item: dict[str, Any], parents: dict[str, dict[str, Any]]) -> ShopVariant:
        parent_id = str(item.get("parent_id") or "")
        holder = item
        if item.get("manage_stock") == "parent" and parent_id:
            # The variable product keeps the stock for all its variations.
            if parent_id not in parents:
                parents[parent_id] = self.request("GET", f"{PRODUCTS}/{parent_id}")
            holder = parents[parent_id]
        return variant_from_woocommerce(item, holder)

    # --- stock ---------------------------------------------------------------------------------

    def set_stock(self, changes: list[ShopStockChange], *, reference: str = "") -> dict[str, int]:
        """Bring stock to `quantity`; return the quantity after, per inventory item (absent when
        the product does not manage stock, which WooCommerce then ignores).

        `expected` is what we last read (or last synced). WooCommerce has no compare-and-set, so
        instead of failing when the stock moved, we send the change we want, quantity - expected,
        as `inventory_delta`: sales made meanwhile are kept, which is what a compare-and-set
        followed by a re-read and retry would end at too. Without `expected` the quantity is set
        outright, for when we are the only source of truth. Not idempotent: after OutcomeUnknown,
        read the level again (variants_by_sku) and compute a new change."""
        # Variations sharing their parent's stock share its inventory item: one change each,
        # or a delta would be applied twice.
        latest = {change.inventory_item_id: change for change in changes}
        updates: dict[str, list[dict[str, Any]]] = {}
        for change in latest.values():
            product_id, _sep, variation_id = change.inventory_item_id.partition("/")
            body: dict[str, Any] = {"id": int(variation_id or product_id)}
            if change.expected is None:
                body["stock_quantity"] = change.quantity
            elif change.quantity != change.expected:
                body["inventory_delta"] = change.quantity - change.expected
            else:
                continue  # nothing to change: no write at all
            updates.setdefault(product_id if variation_id else "", []).append(body)
        after: dict[str, int] = {}
        for parent, bodies in updates.items():
            result = self.batch_products(update=bodies, parent_id=parent)
            for variant in result.updated:
                if variant.stock:
                    after[variant.inventory_item_id] = variant.stock[0].available
            if result.errors:
                first = result.errors[0]
                raise ValidationFailed(
                    f"WooCommerce refused a stock change for {first.key}: {first.message}",
                    field=first.field,
                )
        return after

    def adjust_stock(
        self, inventory_item_id: str, location_id: str, delta: int, *, reference: str = ""
    ) -> int:
        """Change stock by `delta`; return the quantity after. Not idempotent: after
        OutcomeUnknown, read the level before adjusting again."""
        product_id, _sep, variation_id = inventory_item_id.partition("/")
        path = f"{PRODUCTS}/{product_id}" + (f"/variations/{variation_id}" if variation_id else "")
        item = self.request("PUT", path, json_body={"inventory_delta": delta})
        return int(item.get("stock_quantity") or 0)

    # --- prices --------------------------------------------------------------------------------

    def set_prices(self, changes: list[ShopPriceChange]) -> BatchResult:
        """New prices. A "was" price (compare_at_price) becomes WooCommerce's regular price with
        the new price as an open-ended sale price; without one, the sale ends. Setting prices
        twice is harmless, so a retry after OutcomeUnknown may send them again."""
        bodies = {
            (c.product_id, c.variant_id): {
                "id": int(c.variant_id),
                "regular_price": _money(c.compare_at_price or c.price),
                "sale_price": _money(c.price) if c.compare_at_price else "",
                "date_on_sale_from_gmt": None,
                "date_on_sale_to_gmt": None,
            }
            for c in changes
        }
        return self._update_grouped(bodies)

    def set_campaign_prices(self, campaigns: list[CampaignPrice]) -> BatchResult:
        """Scheduled sale prices; WooCommerce switches them on and off itself."""
        bodies = {
            (c.product_id, c.variant_id): {
                "id": int(c.variant_id),
                "sale_price": _money(c.sale_price),
                "date_on_sale_from_gmt": _gmt(c.starts_at),
                "date_on_sale_to_gmt": _gmt(c.ends_at),
            }
            for c in campaigns
        }
        return self._update_grouped(bodies)

    def _update_grouped(self, bodies: dict[tuple[str, str], dict[str, Any]]) -> BatchResult:
        # Variations are updated through their parent's batch endpoint, products through ours.
        groups: dict[str, list[dict[str, Any]]] = {}
        for (product_id, variant_id), body in bodies.items():
            groups.setdefault("" if product_id == variant_id else product_id, []).append(body)
        total = BatchResult()
        for parent, group in groups.items():
            result = self.batch_products(update=group, parent_id=parent)
            total.updated += result.updated
            total.errors += result.errors
            total.requests += result.requests
        return total

    # --- batch ---------------------------------------------------------------------------------

    def batch_products(
        self,
        *,
        create: list[dict[str, Any]] | None = None,
        update: list[dict[str, Any]] | None = None,
        delete: list[int] | None = None,
        parent_id: str = "",
    ) -> BatchResult:
        """POST /products/batch (or /products/<parent_id>/variations/batch), split so that no
        request carries more than 100 items in all. Items WooCommerce refuses come back as
        `errors` (a create refused with product_invalid_sku means the SKU exists already, e.g.
        from a batch whose answer was lost). A request that times out raises OutcomeUnknown;
        the requests before it were carried out."""
        path = f"{PRODUCTS}/{parent_id}/variations/batch" if parent_id else f"{PRODUCTS}/batch"
        work = [("create", i) for i in create or []] + [("update", i) for i in update or []]
        work += [("delete", i) for i in delete or []]
        result = BatchResult()
        chunks = list(_chunks(work, BATCH_LIMIT))
        for number, chunk in enumerate(chunks, 1):
            body: dict[str, list[Any]] = {}
            for action, item in chunk:
                body.setdefault(action, []).append(item)
            try:
                answer = self.request("POST", path, json_body=body) or {}
            except OutcomeUnknown as exc:
                raise OutcomeUnknown(
                    f"{exc.message} (batch request {number} of {len(chunks)}; the ones before "
                    "it were carried out)",
                    exchange=exc.exchange,
                ) from exc
            result.requests += 1
            for action, sent in body.items():
                collect_batch_answer(result, action, sent, answer.get(action) or [], parent_id)
        return result


__all__ = ["BatchResult", "CampaignPrice", "WooCommerceClient"]
