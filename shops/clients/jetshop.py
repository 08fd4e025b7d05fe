"""Jetshop / Norce Commerce: orders (read incrementally) and what goes back to the shop.

Norce hands orders to an ERP in its Connect Order Service shape (`OrderRequest`: ClientOrderRef,
CurrencyCode, Items[] with LineNo, PartNo, UnitPrice excl. VAT, UnitVat, VatRate, TypeGroup/Type,
BillTo/ShipTo as {Company, Person{Address}}). We read them from the OData endpoint of Norce
Commerce Query (`/commerce/query/2.0/Orders/Orders`), which adds the order's Id, OrderNo,
StatusId, Created, Updated and ApplicationId (the Norce application = the shop's channel; a
multishop client has several, listed by `channels()`).

Back to the shop, through Norce Commerce Connect (`/commerce/connect/4.0/…`):
- order status (`Order/SendOrderStatus`) with the "send e-mail" option and tracking info;
- capture on delivery (`Order/CreateInvoice` captures the payment reservation; its InvoiceNo is
  unique, so a retry that finds it taken knows the capture already happened);
- products (no variant structure: one variant per product), price lists (a campaign is a price
  list with an end date), prices and stock per warehouse/location. These imports are
  asynchronous: Connect answers a job id at once, and `Job/Get` tells when it is done.

base_url is the tenant's API host: https://<slug>.api-se.norce.tech in production,
{SANDBOX_URL}/jetshop/<slug> in the sandbox; both serve the same paths below it. Norce publishes
no request limit for these APIs, so the client declares none (RATE_LIMIT stays None).

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
from shops.clients.errors import ValidationFailed
from shops.clients.jetshop_mapping import (  # noqa: F401 (STATUSES, order_from_norce: public API)
    STATUSES,
    invoice_body,
    onhands_body,
    order_from_norce,
    parse_time,
    price_lists_body,
    products_body,
    sku_prices_body,
    status_body,
    to_channel,
    to_job,
    to_price,
    to_price_list,
    to_product,
    to_stock,
)
from shops.clients.types import (
    NewShopPrice,
    NewShopProduct,
    NewShopStock,
    OrderPage,
    ShopCapture,
    ShopChannel,
    ShopImportJob,
    ShopOrder,
    ShopPrice,
    ShopPriceList,
    ShopProduct,
    ShopStock,
)

TOKEN_PATH = "/identity/1.0/connect/token"
QUERY = "/commerce/query/2.0"
CONNECT = "/commerce/connect/4.0"
ORDERS_PATH = f"{QUERY}/Orders/Orders"
QUERY_PAGE = 500


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
    parse_time(updated)  # rejects anything that would not be a valid OData date literal
    return updated, int(order_id)


class JetshopClient(ApiClient):
    system = "Jetshop / Norce"
    JOB_POLL_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The raw orders read last: status updates and captures need fields (ClientOrderRef,
        # the payment reservation) the ShopOrder does not carry.
        self._raw_orders: dict[str, dict[str, Any]] = {}

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
        self._remember(raw)
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
            raw = body.get("value") or []
            self._remember(raw)
            orders.extend(order_from_norce(item) for item in raw)
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

    def _remember(self, raw: list[dict[str, Any]]) -> None:
        if len(self._raw_orders) > 5000:
            self._raw_orders.clear()
        self._raw_orders.update({str(item["Id"]): item for item in raw})

    def _raw_order(self, shop_order_id: str) -> dict[str, Any]:
        if shop_order_id not in self._raw_orders:
            self.orders_by_id([shop_order_id])
        try:
            return self._raw_orders[shop_order_id]
        except KeyError:
            raise LookupError(f"Jetshop has no order with Id {shop_order_id}.") from None

    # --- what goes back to the shop ------------------------------------------------------------

    def send_order_status(
        self,
        shop_order_id: str,
        status: str,
        *,
        send_email: bool = False,
        freight_forwarder: str = "",
        tracking_code: str = "",
    ) -> None:
        """Set the order's status in the shop (Delivered, Invoiced, Cancelled, …); with
        `send_email` the shop mails the shopper, with the parcel tracking if given. Sending the
        same status again changes nothing, so a retry is harmless."""
        body = status_body(
            self._raw_order(shop_order_id),
            status,
            send_email=send_email,
            freight_forwarder=freight_forwarder,
            tracking_code=tracking_code,
        )
        self.request("POST", f"{CONNECT}/Order/SendOrderStatus", json_body=body)

    def capture_order(
        self, shop_order_id: str, *, invoice_no: str, invoice_date: datetime.date
    ) -> ShopCapture:
        """Invoice the whole order in Norce, which captures its payment reservation at the PSP
        (on delivery). `invoice_no` is the natural key: Norce refuses a second invoice with it,
        which tells a retry that the capture already happened."""
        raw = self._raw_order(shop_order_id)
        body = invoice_body(raw, invoice_no=invoice_no, invoice_date=invoice_date)
        amount = Decimal(str(body["TotalAmount"])).quantize(Decimal("0.01"))
        try:
            self.request("POST", f"{CONNECT}/Order/CreateInvoice", json_body=body)
        except ValidationFailed as exc:
            if exc.field == "InvoiceNo" and "already" in exc.message.lower():
                return ShopCapture(shop_order_id, invoice_no, amount, already_captured=True)
            raise
        return ShopCapture(shop_order_id, invoice_no, amount, already_captured=False)

    # --- catalogue: asynchronous Connect imports -----------------------------------------------

    def _import(self, path: str, body: dict[str, Any]) -> ShopImportJob:
        return to_job(self.request("POST", f"{CONNECT}/{path}", json_body=body))

    def import_products(self, products: list[NewShopProduct]) -> ShopImportJob:
        """Create or update products by PartNo. Queued: see `wait_for_job`."""
        return self._import("Product/ImportProducts", products_body(products))

    def import_price_list(
        self,
        code: str,
        name: str,
        *,
        currency: str = "SEK",
        valid_from: datetime.date | None = None,
        valid_to: datetime.date | None = None,
    ) -> ShopImportJob:
        """Create or update a price list by code; give it an end date to make it a campaign."""
        body = price_lists_body(code, name, currency, valid_from, valid_to)
        return self._import("Product/ImportPriceLists", body)

    def import_prices(self, prices: list[NewShopPrice]) -> ShopImportJob:
        """Set prices (excl. VAT) by PartNo and price list code."""
        return self._import("Product/ImportSkuPriceLists", sku_prices_body(prices))

    def import_stock(self, levels: list[NewShopStock]) -> ShopImportJob:
        """Set on-hand quantities by PartNo, warehouse and location."""
        return self._import("Product/ImportOnhands", onhands_body(levels))

    def job(self, job_id: str) -> ShopImportJob:
        return to_job(self.request("GET", f"{CONNECT}/Job/Get", params={"id": job_id}))

    def wait_for_job(self, job_id: str, *, timeout: float = 60.0) -> ShopImportJob:
        """Poll the job until it is finished or `timeout` has passed; the last state either way
        (an unfinished job is for the caller to look at again later, not an error)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.finished or time.monotonic() + self.JOB_POLL_SECONDS > deadline:
                return job
            time.sleep(self.JOB_POLL_SECONDS)

    # --- catalogue: reads (Norce Commerce Query, OData) ----------------------------------------

    def _query_all(self, path: str, odata_filter: str = "") -> Iterator[dict[str, Any]]:
        skip = 0
        while True:
            params: dict[str, Any] = {"$top": QUERY_PAGE, "$skip": skip}
            if odata_filter:
                params["$filter"] = odata_filter
            rows = self.request("GET", f"{QUERY}/{path}", params=params).get("value") or []
            yield from rows
            if len(rows) < QUERY_PAGE:
                return
            skip += QUERY_PAGE

    @staticmethod
    def _part_nos(part_nos: list[str] | None) -> str:
        quoted = (p.replace("'", "''") for p in part_nos or [])
        return " or ".join(f"PartNo eq '{p}'" for p in quoted)

    def products(self, part_nos: list[str] | None = None) -> list[ShopProduct]:
        rows = self._query_all("Products/ProductSkus", self._part_nos(part_nos))
        return [to_product(r) for r in rows]

    def price_lists(self) -> list[ShopPriceList]:
        return [to_price_list(r) for r in self._query_all("Application/ClientPriceLists")]

    def prices(self, part_nos: list[str] | None = None) -> list[ShopPrice]:
        rows = self._query_all("Products/ProductSkuPriceLists", self._part_nos(part_nos))
        return [to_price(r) for r in rows]

    def stock(self, part_nos: list[str] | None = None) -> list[ShopStock]:
        """On hand, reserved and incoming per warehouse/location; `ShopStock.available` is what
        can still be sold."""
        rows = self._query_all("Products/ProductSkuOnhands", self._part_nos(part_nos))
        return [to_stock(r) for r in rows]

    def channels(self) -> list[ShopChannel]:
        """The client's applications: each a channel, whose id orders carry as `channel`."""
        return [to_channel(r) for r in self._query_all("Core/Applications")]
