"""Jetshop / Norce Commerce as the sandbox serves it under /jetshop/<shop slug>.

The slug stands for the tenant's own API host (https://<slug>.api-se.norce.tech), so the paths
below it are the real ones:
- POST /identity/1.0/connect/token                OAuth2 client credentials (form body)
- GET  /commerce/query/2.0/Orders/Orders           OData: $filter, $orderby, $top, $skip, $count
- GET  /commerce/query/2.0/Core/Applications       the client's channels (applications)
- GET  /commerce/query/2.0/Products/ProductSkus, Products/ProductSkuPriceLists,
       Products/ProductSkuOnhands (modelled: on hand, incoming, reserved per warehouse/location),
       Application/ClientPriceLists
- /commerce/connect/4.0/…                          Connect: see jetshop_connect.py
Requests need `Authorization: Bearer …` for this shop and an `application-id` header naming one
of the shop's applications; orders of all its applications are served (each carries its own).

Orders are served in the Connect Order Service shape (OrderRequest) plus the Query fields Id,
OrderNo, StatusId, Created, Updated and ApplicationId; see shops/clients/jetshop_mapping.py.
A cursor poll (`Updated gt X or (Updated eq X and Id gt N)`, ordered by Updated,Id) is answered
from an index in O(log n + page), so polling thousands of orders is not quadratic.

Test hooks:
- POST /_sandbox/jetshop/orders {"shop", "orders": [...]}: add orders, or update the one with the
  same Id (bumping Updated), like a shopper or a merchant would;
- POST /_sandbox/jetshop/generate {"shop", "orders": N, "seed"?}: N realistic orders (Swedish
  buyers, 25/12/6 % VAT, discounts, shipping, cancellations, refunds), deterministic by seed.
"""

from __future__ import annotations

import copy
import re
import time
from decimal import Decimal
from typing import Any

from shops.sandbox import demo_data, demo_jetshop, jetshop_connect
from shops.sandbox.jetshop_connect import odata_error
from shops.sandbox.jetshop_generate import generate_orders
from shops.sandbox.jetshop_store import Shop
from shops.sandbox.state import (
    ODataError,
    Request,
    Response,
    SandboxState,
    bearer,
    mint_token,
    now_utc,
    odata_filter,
    parse_datetime,
    read_token,
)

TOKEN_PATH = "/identity/1.0/connect/token"
QUERY = "/commerce/query/2.0"
CONNECT = "/commerce/connect/4.0"
TOKEN_LIFETIME = 3600
DEFAULT_TOP = 100
MAX_TOP = 1000
MAX_GENERATE = 20000
_CURSOR = re.compile(
    r"^\s*Updated gt (\S+) or \(Updated eq (\S+) and Id gt (\d+)\)\s*$", re.IGNORECASE
)
_BY_UPDATED = {"updated,id", "updatedasc,idasc", "updated,idasc", "updatedasc,id"}


class JetshopSandbox:
    name = "jetshop"

    def reset(self, state: SandboxState) -> None:
        self.shops: dict[str, Shop] = {
            tenant: Shop.demo(tenant) for tenant in demo_data.JETSHOP_TENANTS
        }
        if state.options.jetshop_orders:
            for shop in self.shops.values():
                self._generate(
                    shop, {"orders": state.options.jetshop_orders, "seed": state.options.seed}
                )

    def is_token_path(self, path: str) -> bool:
        return path.lower().rstrip("/").endswith(TOKEN_PATH)

    def snapshot(self) -> dict[str, Any]:
        """All shops together (orders tagged with "_shop") and each shop on its own."""
        return {
            "orders": [
                {**o, "_shop": slug} for slug, shop in self.shops.items() for o in shop.orders
            ],
            "token_requests": sum(shop.token_requests for shop in self.shops.values()),
            "shops": {slug: shop.snapshot() for slug, shop in self.shops.items()},
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            response = odata_error(429, "TooManyRequests", "Rate limit exceeded.")
            response.headers["Retry-After"] = "1"
            return response
        if kind == "502":
            return Response(
                502,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                {"Content-Type": "text/html"},
            )
        return odata_error(500, "InternalServerError", "An error has occurred.")

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        slug, _, rest = request.path.lstrip("/").partition("/")
        path = ("/" + rest.rstrip("/")).lower()
        with state.lock:
            shop = self.shops.get(slug)
            if shop is None:
                return odata_error(404, "NotFound", f"No shop {slug!r} in the sandbox.")
            if path == TOKEN_PATH:
                return self._token(request, shop, state)
            claims = read_token(bearer(request), "norce-access")
            if not claims or claims.get("shop") != slug:
                return odata_error(
                    401,
                    "Unauthorized",
                    "The access token is missing, expired or not for this shop.",
                )
            application = request.header("application-id") or request.header("applicationId")
            if not application:
                return odata_error(
                    400, "BadRequest", "The application-id header is required.", "application-id"
                )
            if application not in {str(c[0]) for c in shop.channels}:
                return odata_error(
                    403, "Forbidden", f"Application {application} is not available to this client."
                )
            if path.startswith(CONNECT + "/"):
                try:
                    body = request.json() if request.body else None
                except ValueError:
                    return odata_error(400, "BadRequest", "The request body is not valid JSON.")
                return jetshop_connect.handle(
                    request.method, path.removeprefix(CONNECT), request.query, body, shop
                )
            if request.method == "GET" and path.startswith(QUERY + "/"):
                try:
                    return self._query(path.removeprefix(QUERY), request, shop)
                except ODataError as exc:
                    return odata_error(400, "BadRequest", str(exc), "$filter")
            return odata_error(404, "NotFound", f"No resource {request.method} {path}.")

    def _token(self, request: Request, shop: Shop, state: SandboxState) -> Response:
        form = request.form()
        if request.method != "POST" or form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        client_id = form.get("client_id", "")
        if shop.clients.get(client_id) != form.get("client_secret") or not client_id:
            return Response(400, {"error": "invalid_client"})
        shop.token_requests += 1
        token = mint_token(
            "norce-access",
            shop=shop.slug,
            cid=client_id,
            jti=state.new_id(),
            exp=int(time.time()) + TOKEN_LIFETIME,
        )
        return Response(
            200,
            {
                "access_token": token,
                "expires_in": TOKEN_LIFETIME,
                "token_type": "Bearer",
                "scope": form.get("scope") or "prod",
            },
            {"Cache-Control": "no-store"},
        )

    # --- Query (OData) -------------------------------------------------------------------------

    def _query(self, entity: str, request: Request, shop: Shop) -> Response:
        if entity == "/orders/orders":
            return self._orders(request, shop)
        rows: list[dict[str, Any]]
        if entity == "/core/applications":
            rows = [
                {
                    "Id": app_id,
                    "Name": name,
                    "DefaultCurrencyCode": currency,
                    "DefaultCultureCode": culture,
                    "IsActive": True,
                }
                for app_id, name, currency, culture in shop.channels
            ]
        elif entity == "/products/productskus":
            rows = list(shop.products.values())
        elif entity == "/products/productskupricelists":
            rows = list(shop.prices.values())
        elif entity == "/products/productskuonhands":
            rows = shop.onhand_rows()
        elif entity == "/application/clientpricelists":
            rows = list(shop.price_lists.values())
        else:
            return odata_error(404, "NotFound", f"No Query entity {entity}.")
        if request.query.get("$filter"):
            predicate = odata_filter(request.query["$filter"])
            rows = [r for r in rows if predicate(r)]
        return self._page(rows, request, f"{entity.split('/')[-1]}")

    def _page(self, rows: list[dict[str, Any]], request: Request, entity: str) -> Response:
        try:
            skip = int(request.query.get("$skip") or 0)
            top = min(int(request.query.get("$top") or DEFAULT_TOP), MAX_TOP)
        except ValueError:
            return odata_error(400, "BadRequest", "$top and $skip must be whole numbers.", "$top")
        body: dict[str, Any] = {
            "@odata.context": f"$metadata#{entity}",
            "value": rows[skip : skip + top],
        }
        if request.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(rows)
        return Response(200, body)

    def _orders(self, request: Request, shop: Shop) -> Response:
        query = request.query
        expression = query.get("$filter", "")
        orderby = query.get("$orderby", "Id").replace(" ", "").lower()
        cursor = _CURSOR.match(expression)
        counted = query.get("$count", "").lower() == "true"
        if orderby in _BY_UPDATED and not counted and (not expression or cursor):
            # The poll: straight from the (Updated, Id) index, only as far as the page reaches.
            try:
                reach = int(query.get("$skip") or 0) + int(query.get("$top") or DEFAULT_TOP)
            except ValueError:
                reach = 0
            if cursor and cursor.group(1) == cursor.group(2):
                after = (parse_datetime(cursor.group(1)), int(cursor.group(3)))
            else:
                after = None
            if after or not expression:
                orders = (
                    shop.orders_after(*after, limit=reach)
                    if after
                    else (shop.in_update_order(limit=reach))
                )
                return self._orders_page(orders, request, shop)
        orders = list(shop.by_id.values())
        if expression:
            predicate = odata_filter(expression)
            orders = [o for o in orders if predicate(o)]
        for field, descending in reversed(_order_by(query.get("$orderby", "Id"))):
            orders.sort(key=lambda o, f=field: _sort_value(o.get(f)), reverse=descending)
        return self._orders_page(orders, request, shop)

    def _orders_page(self, orders: list[dict[str, Any]], request: Request, shop: Shop) -> Response:
        response = self._page(orders, request, "Orders")
        if isinstance(response.body, dict):
            response.body["@odata.context"] = (
                f"/jetshop/{shop.slug}/commerce/query/2.0/Orders/$metadata#Orders"
            )
        return response

    # --- test hooks ----------------------------------------------------------------------------

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if action not in ("orders", "generate") or not isinstance(body, dict):
            return Response(404, {"error": f"No sandbox action {action!r} for jetshop"})
        with state.lock:
            shop = self.shops.get(str(body.get("shop", "")))
            if shop is None:
                return Response(400, {"error": f"Unknown shop {body.get('shop')!r}"})
            if action == "generate":
                return self._generate(shop, body)
            changes = body.get("orders") or ([body["order"]] if body.get("order") else [])
            return Response(200, {"orders": [self._upsert(shop, change) for change in changes]})

    def _generate(self, shop: Shop, body: dict[str, Any]) -> Response:
        count = int(body.get("orders") or 0)
        if not 0 < count <= MAX_GENERATE:
            return Response(400, {"error": f"orders must be 1–{MAX_GENERATE}"})
        first = min(shop.by_id.values(), key=lambda o: int(o["Id"]))
        latest = shop.in_update_order()[-1]
        orders, summary = generate_orders(
            shop.slug,
            shop.next_id,
            count,
            seed=int(body.get("seed") or 1),
            start=parse_datetime(str(latest["Updated"])),
            number_offset=int(first["OrderNo"]) - int(first["Id"]),
            channels=[c[0] for c in shop.channels],
            order=demo_jetshop.norce_order,
        )
        for order in orders:
            shop.add_order(order)
        return Response(200, summary)

    def _upsert(self, shop: Shop, change: dict[str, Any]) -> dict[str, Any]:
        change = copy.deepcopy(change)
        if "Items" in change:
            change["Items"] = [_item(line, item) for line, item in enumerate(change["Items"], 1)]
        existing = shop.by_id.get(int(change["Id"])) if change.get("Id") else None
        if existing is not None:
            return shop.change_order(
                existing, {**change, "Updated": change.get("Updated") or now_utc()}
            )
        order_id = int(change.get("Id") or shop.next_id)
        created = change.get("Created") or now_utc()
        order = demo_jetshop.norce_order(
            shop.slug,
            order_id,
            str(change.get("OrderNo") or order_id),
            created,
            change.get("Updated") or created,
            int(change.get("StatusId", 2)),
            change.get("BillTo")
            or demo_jetshop.private_buyer("Test", "Testsson", "Testgatan 1", "111 11", "Stockholm"),
            change.get("Items") or [],
        )
        order.update({k: v for k, v in change.items() if k not in ("Items", "BillTo")})
        order["Id"], order["Created"] = order_id, created
        return shop.add_order(order)


def _item(line: int, item: dict[str, Any]) -> dict[str, Any]:
    """A full OrderItem from a short one ({PartNo, Quantity, UnitPrice, VatRate}) for tests."""
    if "UnitVat" in item:
        return item
    return demo_jetshop.norce_item(
        int(item.get("LineNo") or line),
        str(item["PartNo"]),
        str(item.get("Description") or item["PartNo"]),
        int(item.get("Quantity") or 1),
        str(item.get("UnitPriceOriginal") or item["UnitPrice"]),
        int(item.get("VatRate", 25)),
        discount_percent=int(item.get("DiscountPercent") or 0),
        freight=item.get("Type") == "Freight",
    )


def _order_by(expression: str) -> list[tuple[str, bool]]:
    fields = []
    for part in expression.split(","):
        name, _, direction = part.strip().partition(" ")
        if name:
            fields.append((name, direction.strip().lower() == "desc"))
    return fields


def _sort_value(value: Any) -> Any:
    if isinstance(value, str) and "T" in value:
        try:
            return (1, parse_datetime(value))
        except ValueError:
            pass
    if isinstance(value, (int, float, Decimal)):
        return (1, value)
    return (0, "") if value is None else (1, str(value))
