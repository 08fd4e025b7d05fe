"""WooCommerce (REST API v3) as the sandbox serves it under /woocommerce/<site slug>.

The slug stands for the merchant's own WordPress site (https://shop.example.se), so the paths
below it are the real ones, under /wp-json/wc/v3:
- GET  /orders                         modified_after/_before, after/before, dates_are_gmt,
                                       include, search, status, orderby, order, page, per_page
- GET|PUT /orders/<id>                 PUT changes `status` (and adds WooCommerce's own note)
- GET|POST /orders/<id>/notes          `note`, `customer_note`
- GET|POST /products                   `sku` (comma list, matches variations too), include, type
- GET|PUT /products/<id>               prices, sale dates, stock_quantity, inventory_delta
- GET|PUT /products/<id>/variations[/<id>]   the same for variations; `sku` filter on the list
- POST /products/batch, /products/<id>/variations/batch   create/update/delete, ≤ 100 in all
- GET  /taxes, /taxes/classes          the site's tax rates (class, page, per_page) and classes
- GET  /settings/tax/woocommerce_prices_include_tax

Faithful where our client depends on it: lists are bare JSON arrays with X-WP-Total,
X-WP-TotalPages and Link headers; errors are WordPress's {code, message, data: {status, params}};
keys are checked like WooCommerce checks them over HTTPS (Basic auth, or consumer_key and
consumer_secret in the query); a read-only key cannot write. Orders modified in the same second
come back newest id first, because MySQL promises no order among ties and clients must not lean
on one. `inventory_delta` is applied to the current stock as WooCommerce does it: read, add, save.

Rate limit: WooCommerce itself has none, but hosts do. Per site: `rate_limit` requests per
`rate_window_s`, set with the test hook below or, by default, the sandbox-wide options.
Test hooks (POST /_sandbox/woocommerce/<action>, body {"site": slug, …}):
- orders   {"orders": [...]}  add orders in short form (line_items as {sku, quantity}) or change
           the one with the same id (bumping date_modified), as a shopper or the merchant would
- sell     {"sku", "quantity"} a checkout elsewhere takes stock, atomically
- config   {"rate_limit", "rate_window_s"} this site's limit (null: back to the default)
- webhook  {"topic", "resource_id"} a delivery as WooCommerce would sign and send it
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlencode

from shops.sandbox import woocommerce_data as data
from shops.sandbox.state import Request, Response, SandboxState, now_utc
from shops.sandbox.woocommerce_store import Site, StoreError, error

API = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
BATCH_LIMIT = 100
_INT = re.compile(r"^\d+$")


class WooCommerceSandbox:
    name = "woocommerce"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        """(base_url, credentials) for a demo Connection to the sandbox at `root`."""
        if tenant not in data.DEMO_SITES:
            raise LookupError(f"No WooCommerce demo site for {tenant!r}")
        return f"{root.rstrip('/')}/woocommerce/{tenant}", data.demo_credentials(tenant)

    def reset(self, state: SandboxState) -> None:
        self.sites: dict[str, Site] = {}
        for slug, name in data.DEMO_SITES.items():
            credentials = data.demo_credentials(slug)
            read_key, read_secret = data.read_only_key(slug)
            products, variations = data.demo_catalogue()
            site = Site(
                slug=slug,
                name=name,
                keys={
                    credentials["consumer_key"]: (credentials["consumer_secret"], "read_write"),
                    read_key: (read_secret, "read"),
                },
                webhook_secret=credentials["webhook_secret"],
                products=products,
                variations=variations,
            )
            site.tax_rates = [data.tax_rate(rate_id) for rate_id in data.TAX_RATES]
            site.orders = data.demo_orders(site.by_sku())
            site.refresh_prices()
            self.sites[slug] = site

    def is_token_path(self, path: str) -> bool:
        return False  # keys, not tokens: nothing to spare from faults

    def snapshot(self) -> dict[str, Any]:
        """Every site on its own, plus orders (tagged "_site") and create calls summed."""
        create_calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for site in self.sites.values():
            for collection, calls in site.create_calls.items():
                create_calls[collection].update(calls)
        return {
            "orders": [{**o, "_site": slug} for slug, s in self.sites.items() for o in s.orders],
            "create_calls": {k: dict(v) for k, v in create_calls.items()},
            "throttled": sum(s.throttled for s in self.sites.values()),
            "sites": {slug: site.snapshot() for slug, site in self.sites.items()},
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return _too_many(1.0)
        if kind == "502":
            return Response(
                502,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                {"Content-Type": "text/html"},
            )
        return Response(
            500,
            {
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>",
                "data": {"status": 500},
                "additional_errors": [],
            },
        )

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        slug, _, rest = request.path.lstrip("/").partition("/")
        path = "/" + rest.rstrip("/")
        with state.lock:
            site = self.sites.get(slug)
            if site is None or not path.startswith(API):
                return _no_route()
            refused = self._authenticate(request, site)
            if refused:
                return refused
            limit = site.rate_limit or state.options.rate_limit
            window = site.rate_window_s or state.options.rate_window_s
            wait = state.rate_limiter.retry_after(("woocommerce", slug), limit, window)
            if wait is not None:
                site.throttled += 1
                return _too_many(wait)
            try:
                response = self._route(request, site, path.removeprefix(API), state)
            except StoreError as exc:
                return exc.response
            return self._with_links(response, request, slug, path)

    def _authenticate(self, request: Request, site: Site) -> Response | None:
        key, secret = _credentials(request)
        if not key:
            code, verb = (
                ("woocommerce_rest_cannot_view", "list resources")
                if request.method == "GET"
                else ("woocommerce_rest_cannot_edit", "edit this resource")
            )
            return error(401, code, f"Sorry, you cannot {verb}.")
        known = site.keys.get(key)
        if known is None:
            return error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not hmac.compare_digest(known[0], secret):
            return error(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )
        if request.method != "GET" and known[1] == "read":
            return error(
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
            )
        return None

    def _route(self, request: Request, site: Site, path: str, state: SandboxState) -> Response:
        parts = path.strip("/").split("/")
        method = request.method
        body = _json_body(request) if method in ("POST", "PUT") else {}
        if parts[0] == "orders":
            if len(parts) == 1 and method == "GET":
                return self._list(site.order_list(request.query), request.query)
            if len(parts) >= 2 and _INT.match(parts[1]):
                order = site.order(int(parts[1]))
                if len(parts) == 2 and method == "GET":
                    return Response(200, order)
                if len(parts) == 2 and method in ("PUT", "POST"):
                    return Response(200, site.update_order(order, body))
                if len(parts) == 3 and parts[2] == "notes" and method == "GET":
                    return Response(200, site.notes.get(order["id"], []))
                if len(parts) == 3 and parts[2] == "notes" and method == "POST":
                    return Response(201, site.add_note(order, body))
        if parts[0] == "products":
            return self._products(request, site, parts[1:], body)
        if parts == ["taxes"] and method == "GET":
            wanted = request.query.get("class", "")
            rates = [r for r in site.tax_rates if not wanted or r["class"] == wanted]
            return self._list(rates, request.query)
        if parts == ["taxes", "classes"] and method == "GET":
            classes = [{"slug": slug, "name": name} for slug, name in data.TAX_CLASSES.items()]
            return Response(200, classes)
        if parts == ["settings", "tax", "woocommerce_prices_include_tax"] and method == "GET":
            return Response(
                200,
                {
                    "id": "woocommerce_prices_include_tax",
                    "value": "yes",
                    "type": "radio",
                    "default": "no",
                },
            )
        return _no_route()

    def _products(self, request: Request, site: Site, parts: list[str], body: Any) -> Response:
        method = request.method
        if not parts:
            if method == "GET":
                return self._list(site.product_list(request.query), request.query)
            if method == "POST":
                return Response(201, site.create_product(body, parent=None))
            return _no_route()
        if parts == ["batch"] and method in ("POST", "PUT"):
            return Response(200, self._batch(site, body, parent=None))
        if not _INT.match(parts[0]):
            return _no_route()
        item = site.product(int(parts[0]))
        if len(parts) == 1:
            if method == "GET":
                return Response(200, item)
            if method in ("PUT", "POST"):
                return Response(200, site.update_product(item, body))
        if len(parts) >= 2 and parts[1] == "variations":
            if item["type"] != "variable":
                return error(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
            if len(parts) == 2 and method == "GET":
                return self._list(site.variation_list(item, request.query), request.query)
            if len(parts) == 2 and method == "POST":
                return Response(201, site.create_product(body, parent=item))
            if parts[2:] == ["batch"] and method in ("POST", "PUT"):
                return Response(200, self._batch(site, body, parent=item))
            if len(parts) == 3 and _INT.match(parts[2]):
                variation = site.variation(item, int(parts[2]))
                if method == "GET":
                    return Response(200, variation)
                if method in ("PUT", "POST"):
                    return Response(200, site.update_product(variation, body))
        return _no_route()

    def _batch(self, site: Site, body: Any, parent: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(error(400, "rest_invalid_json", "Invalid JSON body passed."))
        total = sum(len(body.get(action) or []) for action in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise StoreError(
                error(
                    413,
                    "woocommerce_rest_request_entity_too_large",
                    f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                )
            )
        result: dict[str, list[Any]] = {}
        for action in ("create", "update", "delete"):
            if action not in body:
                continue
            done: list[Any] = []
            for entry in body.get(action) or []:
                try:
                    done.append(site.batch_item(action, entry, parent))
                except StoreError as exc:
                    reported = exc.response.body
                    item_id = entry.get("id", 0) if isinstance(entry, dict) else entry
                    done.append({"id": item_id, "error": reported})
            result[action] = done
        return result

    def _list(self, items: list[dict[str, Any]], query: dict[str, str]) -> Response:
        per_page = _whole(query, "per_page", 10, 1, MAX_PER_PAGE)
        page = _whole(query, "page", 1, 1, None)
        total = len(items)
        pages = math.ceil(total / per_page)
        start = (page - 1) * per_page
        return Response(
            200,
            items[start : start + per_page],
            {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages), "_page": str(page)},
        )

    def _with_links(self, response: Response, request: Request, slug: str, path: str) -> Response:
        """WordPress's Link header: rel="prev"/"next" with the same query and another page."""
        page = int(response.headers.pop("_page", "0") or 0)
        if not page:
            return response
        pages = int(response.headers["X-WP-TotalPages"])
        base = f"http://{request.header('host') or '127.0.0.1'}/woocommerce/{slug}{path}"
        links = []
        for rel, target in (("prev", page - 1), ("next", page + 1)):
            if 1 <= target <= max(pages, 1) and (rel == "prev" or target <= pages):
                query = urlencode({**request.query, "page": target})
                links.append(f'<{base}?{query}>; rel="{rel}"')
        if links:
            response.headers["Link"] = ", ".join(links)
        return response

    # --- test hooks ----------------------------------------------------------------------------

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if not isinstance(body, dict):
            return Response(400, {"error": "The body must be a JSON object."})
        with state.lock:
            site = self.sites.get(str(body.get("site", "")))
            if site is None:
                return Response(400, {"error": f"Unknown site {body.get('site')!r}"})
            try:
                if action == "orders":
                    changes = body.get("orders") or []
                    return Response(200, {"orders": [site.upsert_order(c) for c in changes]})
                if action == "sell":
                    item = site.by_sku().get(str(body.get("sku", "")))
                    if item is None:
                        return Response(400, {"error": f"Unknown SKU {body.get('sku')!r}"})
                    holder = site.stock_holder(item)
                    holder["stock_quantity"] -= int(body.get("quantity") or 1)
                    data.refresh_stock_status(holder)
                    return Response(200, {"stock_quantity": holder["stock_quantity"]})
                if action == "config":
                    site.rate_limit = body.get("rate_limit")
                    site.rate_window_s = body.get("rate_window_s")
                    return Response(200, {"rate_limit": site.rate_limit})
                if action == "webhook":
                    return Response(200, self._delivery(site, body))
            except StoreError as exc:
                return exc.response
        return Response(404, {"error": f"No sandbox action {action!r} for woocommerce"})

    def _delivery(self, site: Site, body: dict[str, Any]) -> dict[str, Any]:
        """What WooCommerce POSTs to a webhook's delivery URL: the resource as JSON, signed with
        base64(HMAC-SHA256(raw body, webhook secret))."""
        topic = str(body.get("topic") or "order.updated")
        resource, _, event = topic.partition(".")
        resource_id = int(body.get("resource_id") or 0)
        payload = site.order(resource_id) if resource == "order" else site.product(resource_id)
        raw = Response(200, payload).encode()[0]  # the same bytes the API serves
        signature = base64.b64encode(
            hmac.new(site.webhook_secret.encode(), raw, hashlib.sha256).digest()
        ).decode()
        return {
            "headers": {
                "X-WC-Webhook-Source": f"https://{site.slug}.example.se/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature,
                "X-WC-Webhook-ID": "1",
                "X-WC-Webhook-Delivery-ID": str(site.next_id()),
            },
            "body": raw.decode(),
            "sent_at": now_utc(),
        }


# --- helpers -----------------------------------------------------------------------------------


def _credentials(request: Request) -> tuple[str, str]:
    value = request.header("Authorization")
    if value[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        key, _, secret = decoded.partition(":")
        return key, secret
    return request.query.get("consumer_key", ""), request.query.get("consumer_secret", "")


def _json_body(request: Request) -> Any:
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except ValueError:
        raise StoreError(error(400, "rest_invalid_json", "Invalid JSON body passed.")) from None


def _whole(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name, "")
    value = int(raw) if raw.isdigit() else (default if raw == "" else -1)
    if value < low or (high is not None and value > high):
        limit = f"between {low} (inclusive) and {high} (inclusive)" if high else f">= {low}"
        raise StoreError(
            error(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                params={name: f"{name} must be {limit}"},
            )
        )
    return value


def _no_route() -> Response:
    return error(404, "rest_no_route", "No route was found matching the URL and request method.")


def _too_many(wait: float) -> Response:
    response = error(429, "rate_limit_exceeded", "Too many requests. Please wait and try again.")
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response
