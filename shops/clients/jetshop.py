"""Jetshop / Norce Commerce: orders, read incrementally.

Norce hands orders to an ERP in its Connect Order Service shape (`OrderRequest`: ClientOrderRef,
CurrencyCode, Items[] with LineNo, PartNo, UnitPrice excl. VAT, UnitVat, VatRate, TypeGroup/Type,
BillTo/ShipTo as {Company, Person{Address}}). We read them from the OData endpoint of Norce
Commerce Query (`/commerce/query/2.0/Orders/Orders`), which adds the order's Id, OrderNo,
StatusId, Created, Updated and ApplicationId (the Norce application = the shop's channel).

base_url is the tenant's API host: https://<slug>.api-se.norce.tech in production,
{SANDBOX_URL}/jetshop/<slug> in the sandbox; both serve the same paths below it.

Credentials: client_id, client_secret, application_id, optional token_url and scope; the access
token (client-credentials grant) is cached in them as access_token/expires_at. Norce allows only a
few token requests per minute, which is one more reason to cache and to refresh under a lock.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import requests

from shops.clients.base import ApiClient
from shops.clients.types import Address, OrderPage, ShopCustomer, ShopOrder, ShopOrderRow

TOKEN_PATH = "/identity/1.0/connect/token"
ORDERS_PATH = "/commerce/query/2.0/Orders/Orders"
TWO = Decimal("0.01")

# Norce's order StatusId values (Query API documentation).
STATUSES = {
    0: "Created",
    1: "Allocation",
    2: "Confirmed",
    4: "Delivered",
    5: "Invoiced",
    6: "Cancelled",
    8: "PartlyDelivered",
}


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def _parse_time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Norce gives UTC; a value without an offset is read as UTC rather than left naive.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def encode_cursor(updated: str, order_id: int) -> str:
    """Where to continue: the last order's Updated value exactly as Norce sent it, and its Id
    (orders updated in the same instant are ordered by Id)."""
    return f"{updated}|{order_id}"


def decode_cursor(cursor: str) -> tuple[str, int] | None:
    if not cursor:
        return None
    updated, sep, order_id = cursor.rpartition("|")
    if not sep or not updated or not order_id.isdigit():
        raise ValueError(f"Not a Jetshop order cursor: {cursor!r}")
    _parse_time(updated)  # rejects anything that would not be a valid OData date literal
    return updated, int(order_id)


class JetshopClient(ApiClient):
    system = "Jetshop / Norce"

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.cached_access_token()}",
            "application-id": str(self.connection.credentials.get("application_id", "")),
        }

    def handle_unauthorized(self, rejected_headers: dict[str, str]) -> bool:
        stale = rejected_headers.get("Authorization", "").removeprefix("Bearer ")
        self.renew_token(stale_token=stale)
        return True

    def fetch_token(self, credentials: dict[str, Any]) -> dict[str, Any]:
        body = self.post_token_request(
            credentials.get("token_url") or f"{self.base_url}{TOKEN_PATH}",
            {
                "grant_type": "client_credentials",
                "client_id": credentials.get("client_id", ""),
                "client_secret": credentials.get("client_secret", ""),
                "scope": credentials.get("scope", "prod"),
            },
        )
        return {
            "access_token": body["access_token"],
            "expires_at": int(time.time()) + int(body.get("expires_in") or 3600),
        }

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # OData errors: {"error": {"code", "message", "target"}}.
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return response.text[:300] or response.reason, ""
        if isinstance(error, str):
            return error, ""
        return str(error.get("message") or response.reason), str(error.get("target") or "")

    # --- orders --------------------------------------------------------------------------------

    def orders_page(self, cursor: str = "", page_size: int = 50) -> OrderPage:
        """Orders updated after `cursor`, oldest first (ties by Id), at most `page_size`."""
        params: dict[str, Any] = {"$orderby": "Updated,Id", "$top": page_size}
        position = decode_cursor(cursor)
        if position:
            updated, order_id = position
            params["$filter"] = (
                f"Updated gt {updated} or (Updated eq {updated} and Id gt {order_id})"
            )
        body = self.request("GET", ORDERS_PATH, params=params)
        raw = body.get("value") or []
        orders = [order_from_norce(item) for item in raw]
        next_cursor = encode_cursor(raw[-1]["Updated"], int(raw[-1]["Id"])) if raw else cursor
        return OrderPage(orders=orders, next_cursor=next_cursor)

    def orders_by_id(self, order_ids: list[str]) -> list[ShopOrder]:
        """Specific orders, whatever the cursor says (resuming pending transfers, retries)."""
        return self._orders_where("Id eq {}", [int(i) for i in order_ids])

    def orders_by_number(self, numbers: list[str]) -> list[ShopOrder]:
        return self._orders_where("OrderNo eq '{}'", [n.replace("'", "''") for n in numbers])

    def _orders_where(self, condition: str, values: list[Any], chunk: int = 20) -> list[ShopOrder]:
        orders: list[ShopOrder] = []
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            params = {
                "$filter": " or ".join(condition.format(v) for v in part),
                "$orderby": "Updated,Id",
                "$top": len(part),
            }
            body = self.request("GET", ORDERS_PATH, params=params)
            orders.extend(order_from_norce(item) for item in body.get("value") or [])
        return orders

    def iter_orders(self, cursor: str = "", page_size: int = 50) -> Iterator[OrderPage]:
        """Pages until the shop has nothing newer. Save `page.next_cursor` after each page."""
        while True:
            page = self.orders_page(cursor, page_size)
            if page.orders:
                yield page
            if len(page.orders) < page_size:
                return
            cursor = page.next_cursor


# --- Norce order → ShopOrder ------------------------------------------------------------------


def order_from_norce(data: dict[str, Any]) -> ShopOrder:
    rows = [_row(item) for item in data.get("Items") or [] if item.get("ParentLineNo") is None]
    total = sum(
        (
            (_dec(item.get("UnitPrice")) + _dec(item.get("UnitVat"))) * _quantity(item)
            for item in data.get("Items") or []
            if item.get("ParentLineNo") is None
        ),
        Decimal("0"),
    )
    return ShopOrder(
        shop_order_id=str(data["Id"]),
        order_number=str(data.get("OrderNo") or data.get("ClientOrderRef") or data["Id"]),
        status=STATUSES.get(int(data.get("StatusId") or 0), str(data.get("StatusId"))),
        channel=str(data.get("ApplicationId") or ""),
        created_at=_parse_time(data["Created"]),
        updated_at=_parse_time(data["Updated"]),
        currency=str(data.get("CurrencyCode") or "SEK"),
        customer=_customer(data),
        rows=rows,
        total_incl_vat=total.quantize(TWO),
    )


def _quantity(item: dict[str, Any]) -> Decimal:
    # Quantity is an integer; Quantity2 carries non-integer quantities when there are any.
    return _dec(item.get("Quantity2") or item.get("Quantity") or 0)


def _row(item: dict[str, Any]) -> ShopOrderRow:
    price = _dec(item.get("UnitPrice")).quantize(TWO)
    original = _dec(item.get("UnitPriceOriginal") or item.get("UnitPrice")).quantize(TWO)
    unit_price, discount = price, Decimal("0")
    if original > price > 0:
        # Norce gives the price after discount and the original; we want original + percent,
        # but only when that percent gives back the exact price (else money would drift).
        percent = ((original - price) / original * 100).quantize(TWO)
        if (original * (1 - percent / 100)).quantize(TWO) == price:
            unit_price, discount = original, percent
    return ShopOrderRow(
        article_number=str(item.get("ErpPartNo") or item.get("PartNo") or ""),
        description=str(item.get("Description") or item.get("PartNo") or ""),
        quantity=_quantity(item),
        unit_price=unit_price,
        discount_percent=discount,
        vat_rate=_dec(item.get("VatRate")),
        is_shipping=item.get("Type") == "Freight",
    )


def _address(party: dict[str, Any] | None, name: str) -> Address | None:
    person = (party or {}).get("Person") or {}
    address = person.get("Address")
    if not address:
        return None
    return Address(
        name=name,
        line1=str(address.get("Line1") or ""),
        line2=str(address.get("Line2") or address.get("CareOf") or ""),
        postal_code=str(address.get("ZipCode") or ""),
        city=str(address.get("City") or ""),
        country_code=str(address.get("Country") or "SE").upper(),
    )


def _party_name(party: dict[str, Any] | None) -> str:
    party = party or {}
    company = party.get("Company") or {}
    person = party.get("Person") or {}
    person_name = " ".join(filter(None, [person.get("FirstName"), person.get("LastName")]))
    return str(company.get("Name") or person_name)


def _customer(data: dict[str, Any]) -> ShopCustomer:
    bill_to = data.get("BillTo") or {}
    ship_to = data.get("ShipTo") or bill_to
    company = bill_to.get("Company") or {}
    person = bill_to.get("Person") or {}
    is_company = bool(company.get("Name"))
    name = _party_name(bill_to)
    return ShopCustomer(
        shop_customer_id=str(company.get("Code") or person.get("CustomerCode") or ""),
        is_company=is_company,
        name=name,
        email=str(person.get("Email") or ""),
        phone=str(
            person.get("CellPhone") or person.get("PrivatePhone") or person.get("WorkPhone") or ""
        ),
        organisation_number=str(company.get("OrganizationNo") or "") if is_company else "",
        vat_number=str(company.get("VatNo") or "") if is_company else "",
        billing=_address(bill_to, name),
        shipping=_address(ship_to, _party_name(ship_to)),
    )
