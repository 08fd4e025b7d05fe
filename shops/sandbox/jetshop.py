"""Jetshop / Norce Commerce as the sandbox serves it under /jetshop/<shop slug>.

The slug stands for the tenant's own API host (https://<slug>.api-se.norce.tech), so the paths
below it are the real ones:
- POST /identity/1.0/connect/token            OAuth2 client credentials (form body)
- GET  /commerce/query/2.0/Orders/Orders       OData: $filter, $orderby, $top, $skip, $count
Requests need `Authorization: Bearer …` for this shop and the `application-id` header.

Orders are served in the Connect Order Service shape (OrderRequest) plus the Query fields Id,
OrderNo, StatusId, Created, Updated and ApplicationId; see shops/clients/jetshop.py.
Test hook: POST /_sandbox/jetshop/orders {"shop": slug, "orders": [...]} adds orders, or updates
the one with the same Id (bumping Updated), like a shopper or a merchant would.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from decimal import Decimal
from typing import Any

from shops.sandbox import demo_data
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
ORDERS_PATH = "/commerce/query/2.0/orders/orders"
TOKEN_LIFETIME = 3600
DEFAULT_TOP = 100
MAX_TOP = 1000


@dataclasses.dataclass
class Shop:
    slug: str
    application_id: int
    clients: dict[str, str]  # client_id -> secret
    orders: list[dict[str, Any]]
    token_requests: int = 0

    @property
    def next_id(self) -> int:
        return max((o["Id"] for o in self.orders), default=0) + 1


def odata_error(status: int, code: str, message: str, target: str = "") -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if target:
        body["target"] = target
    return Response(status, {"error": body})


class JetshopSandbox:
    name = "jetshop"

    def reset(self, state: SandboxState) -> None:
        self.shops: dict[str, Shop] = {}
        for tenant in demo_data.DEMO_TENANTS:
            credentials = demo_data.DEMO_CREDENTIALS["jetshop"][tenant]
            self.shops[tenant] = Shop(
                slug=tenant,
                application_id=int(credentials["application_id"]),
                clients={credentials["client_id"]: credentials["client_secret"]},
                orders=demo_data.jetshop_orders(tenant),
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
            "shops": {
                slug: {
                    "application_id": shop.application_id,
                    "orders": shop.orders,
                    "token_requests": shop.token_requests,
                }
                for slug, shop in self.shops.items()
            },
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
        path = "/" + rest.rstrip("/")
        with state.lock:
            shop = self.shops.get(slug)
            if shop is None:
                return odata_error(404, "NotFound", f"No shop {slug!r} in the sandbox.")
            if path.lower() == TOKEN_PATH:
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
            if application != str(shop.application_id):
                return odata_error(
                    403, "Forbidden", f"Application {application} is not available to this client."
                )
            if request.method == "GET" and path.lower() == ORDERS_PATH:
                try:
                    return self._orders(request, shop)
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

    def _orders(self, request: Request, shop: Shop) -> Response:
        query = request.query
        orders = list(shop.orders)
        if query.get("$filter"):
            predicate = odata_filter(query["$filter"])
            orders = [o for o in orders if predicate(o)]
        for field, descending in reversed(_order_by(query.get("$orderby", "Id"))):
            orders.sort(key=lambda o, f=field: _sort_value(o.get(f)), reverse=descending)
        try:
            skip = int(query.get("$skip") or 0)
            top = min(int(query.get("$top") or DEFAULT_TOP), MAX_TOP)
        except ValueError:
            return odata_error(400, "BadRequest", "$top and $skip must be whole numbers.", "$top")
        body: dict[str, Any] = {
            "@odata.context": f"/jetshop/{shop.slug}/commerce/query/2.0/Orders/$metadata#Orders",
            "value": orders[skip : skip + top],
        }
        if query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(orders)
        return Response(200, body)

    # --- test hook -----------------------------------------------------------------------------

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if action != "orders" or not isinstance(body, dict):
            return Response(404, {"error": f"No sandbox action {action!r} for jetshop"})
        with state.lock:
            shop = self.shops.get(str(body.get("shop", "")))
            if shop is None:
                return Response(400, {"error": f"Unknown shop {body.get('shop')!r}"})
            changes = body.get("orders") or ([body["order"]] if body.get("order") else [])
            return Response(200, {"orders": [self._upsert(shop, change) for change in changes]})

    def _upsert(self, shop: Shop, change: dict[str, Any]) -> dict[str, Any]:
        change = copy.deepcopy(change)
        if "Items" in change:
            change["Items"] = [_item(line, item) for line, item in enumerate(change["Items"], 1)]
        existing = next((o for o in shop.orders if o["Id"] == change.get("Id")), None)
        if existing is not None:
            existing.update(change)
            existing["Updated"] = change.get("Updated") or now_utc()
            return existing
        order_id = int(change.get("Id") or shop.next_id)
        created = change.get("Created") or now_utc()
        order = demo_data.norce_order(
            shop.slug,
            order_id,
            str(change.get("OrderNo") or order_id),
            created,
            change.get("Updated") or created,
            int(change.get("StatusId", 2)),
            change.get("BillTo")
            or demo_data.private_buyer("Test", "Testsson", "Testgatan 1", "111 11", "Stockholm"),
            change.get("Items") or [],
        )
        order.update({k: v for k, v in change.items() if k not in ("Items", "BillTo")})
        order["Id"], order["Created"], order["Updated"] = order_id, created, order["Updated"]
        shop.orders.append(order)
        return order


def _item(line: int, item: dict[str, Any]) -> dict[str, Any]:
    """A full OrderItem from a short one ({PartNo, Quantity, UnitPrice, VatRate}) for tests."""
    if "UnitVat" in item:
        return item
    return demo_data.norce_item(
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
