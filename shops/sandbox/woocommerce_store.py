"""One WooCommerce site's state in the sandbox and the rules WooCommerce applies to it: filters
and sorting of lists, field validation with WordPress's error bodies, unique SKUs, stock that
only moves when the product manages it, sale prices with dates, order notes. The HTTP side is
shops/sandbox/woocommerce.py; callers hold the sandbox state lock."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from shops.sandbox import woocommerce_data as data
from shops.sandbox.state import Response, now_utc

ORDER_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
)
ORDER_ORDERBY = ("date", "id", "include", "title", "slug", "modified")
PRODUCT_STATUSES = ("draft", "pending", "private", "publish")
TAX_STATUSES = ("taxable", "shipping", "none")
STRING_FIELDS = ("sku", "name", "regular_price", "sale_price")
DATE_FIELDS = (
    "date_on_sale_from",
    "date_on_sale_from_gmt",
    "date_on_sale_to",
    "date_on_sale_to_gmt",
)
# Short-form keys of the `orders` test hook; any other key overrides the built order as given.
SHORT_FORM = {
    "id",
    "line_items",
    "billing",
    "shipping_to",
    "shipping_price",
    "coupon",
    "status",
    "date_created_gmt",
    "date_modified_gmt",
    "customer_id",
    "number",
}


class StoreError(Exception):
    """Carries the error Response WooCommerce would give."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body.get("message") if isinstance(response.body, dict) else "")
        self.response = response


def error(
    status: int, code: str, message: str, *, params: dict[str, str] | None = None, **extra: Any
) -> Response:
    details: dict[str, Any] = {"status": status, **extra}
    if params:
        details["params"] = params
        details["details"] = {
            name: {"code": "rest_invalid_type", "message": text, "data": {"param": name}}
            for name, text in params.items()
        }
    return Response(status, {"code": code, "message": message, "data": details})


def invalid(name: str, text: str) -> StoreError:
    return StoreError(
        error(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: text})
    )


def _now() -> str:
    return now_utc().removesuffix("Z")


def _parse(value: str, name: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "Invalid date.") from None


def _moment(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def _as_gmt(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:  # a local (site) time
        moment = moment.replace(tzinfo=data.SITE_ZONE)
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def _comparable(value: str, name: str, gmt: bool) -> datetime.datetime:
    moment = _parse(value, name)
    if moment.tzinfo is not None:
        zone = datetime.UTC if gmt else data.SITE_ZONE
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


@dataclasses.dataclass
class Site:
    slug: str
    name: str
    keys: dict[str, tuple[str, str]]  # consumer_key -> (secret, "read" | "read_write")
    webhook_secret: str
    products: list[dict[str, Any]]
    variations: dict[int, list[dict[str, Any]]]
    orders: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tax_rates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    notes: dict[int, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    create_calls: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    rate_limit: int | None = None
    rate_window_s: float | None = None
    throttled: int = 0
    last_id: int = 2000

    def next_id(self) -> int:
        # WordPress hands out one sequence of post ids to orders, products and notes alike.
        self.last_id += 1
        return self.last_id

    def refresh_prices(self) -> None:
        for item in self.all_items():
            _refresh_price(item)

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "orders": self.orders,
            "notes": {str(k): v for k, v in self.notes.items()},
            "products": self.products,
            "variations": {str(k): v for k, v in self.variations.items()},
            "create_calls": {k: dict(v) for k, v in self.create_calls.items()},
            "throttled": self.throttled,
        }

    # --- lookups -------------------------------------------------------------------------------

    def all_items(self) -> list[dict[str, Any]]:
        return self.products + [v for vs in self.variations.values() for v in vs]

    def by_sku(self) -> dict[str, dict[str, Any]]:
        return {item["sku"]: item for item in self.all_items() if item.get("sku")}

    def order(self, order_id: int) -> dict[str, Any]:
        for order in self.orders:
            if order["id"] == order_id:
                return order
        raise StoreError(error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."))

    def product(self, product_id: int) -> dict[str, Any]:
        # Like wc_get_product(): a variation's id opens the variation through /products too.
        for item in self.all_items():
            if item["id"] == product_id:
                return item
        raise StoreError(error(404, "woocommerce_rest_product_invalid_id", "Invalid ID."))

    def variation(self, parent: dict[str, Any], variation_id: int) -> dict[str, Any]:
        for item in self.variations.get(parent["id"], []):
            if item["id"] == variation_id:
                return item
        raise StoreError(error(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID."))

    def stock_holder(self, item: dict[str, Any]) -> dict[str, Any]:
        if item.get("manage_stock") == "parent":
            return self.product(item["parent_id"])
        return item

    # --- lists ---------------------------------------------------------------------------------

    def order_list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        orderby = query.get("orderby", "date")
        if orderby not in ORDER_ORDERBY:
            raise invalid("orderby", f"orderby is not one of {', '.join(ORDER_ORDERBY)}.")
        direction = query.get("order", "desc")
        if direction not in ("asc", "desc"):
            raise invalid("order", "order is not one of asc and desc.")
        orders = list(self.orders)
        statuses = [s for s in query.get("status", "any").split(",") if s]
        if "any" not in statuses:
            orders = [o for o in orders if o["status"] in statuses]
        else:
            orders = [o for o in orders if o["status"] != "trash"]
        include = [int(i) for i in query.get("include", "").split(",") if i.strip().isdigit()]
        if include:
            orders = [o for o in orders if o["id"] in include]
        if query.get("search"):
            orders = [o for o in orders if _matches(o, query["search"])]
        gmt = query.get("dates_are_gmt", "").lower() in ("1", "true")
        for name, field, later in (
            ("modified_after", "date_modified", True),
            ("modified_before", "date_modified", False),
            ("after", "date_created", True),
            ("before", "date_created", False),
        ):
            if query.get(name):
                limit = _comparable(query[name], name, gmt)
                key = f"{field}_gmt" if gmt else field
                # WP_Query's date_query: "after" and "before" are exclusive.
                orders = [
                    o
                    for o in orders
                    if (_moment(o[key]) > limit if later else _moment(o[key]) < limit)
                ]
        field = {"date": "date_created_gmt", "modified": "date_modified_gmt"}.get(orderby, "id")
        # MySQL promises no order among equal values: ties come newest id first on purpose.
        orders.sort(key=lambda o: o["id"], reverse=True)
        if orderby == "include" and include:
            orders.sort(key=lambda o: include.index(o["id"]))
        else:
            orders.sort(key=lambda o: o[field], reverse=direction == "desc")
        return orders

    def product_list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        items = [p for p in self.products if p["status"] != "trash"]
        if query.get("sku"):
            # WooCommerce searches variations too when a SKU is asked for.
            wanted = {s.strip().casefold() for s in query["sku"].split(",")}
            wanted.add(query["sku"].casefold())  # a SKU may itself contain a comma
            items = [i for i in self.all_items() if i["sku"].casefold() in wanted]
        include = {int(i) for i in query.get("include", "").split(",") if i.strip().isdigit()}
        if include:
            items = [i for i in items if i["id"] in include]
        if query.get("type"):
            items = [i for i in items if i["type"] == query["type"]]
        if query.get("search"):
            items = [i for i in items if query["search"].casefold() in i["name"].casefold()]
        return sorted(items, key=lambda i: i["id"])

    def variation_list(self, parent: dict[str, Any], query: dict[str, str]) -> list[dict]:
        items = list(self.variations.get(parent["id"], []))
        if query.get("sku"):
            items = [i for i in items if i["sku"].casefold() == query["sku"].casefold()]
        return items

    # --- orders --------------------------------------------------------------------------------

    def update_order(self, order: dict[str, Any], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(error(400, "rest_invalid_json", "Invalid JSON body passed."))
        status = body.get("status")
        if status is not None and status not in ORDER_STATUSES:
            raise invalid(
                "status",
                f"status is not one of {', '.join(ORDER_STATUSES[:-1])}, and {ORDER_STATUSES[-1]}.",
            )
        if status and status != order["status"]:
            self._note(
                order,
                f"Orderstatus ändrad från {order['status']} till {status}.",
                customer_note=False,
                author="system",
            )
            order["status"] = status
        if isinstance(body.get("customer_note"), str):
            order["customer_note"] = body["customer_note"]
        self._touch(order)
        return order

    def add_note(self, order: dict[str, Any], body: Any) -> dict[str, Any]:
        note = body.get("note") if isinstance(body, dict) else None
        if not note:
            raise StoreError(
                Response(
                    400,
                    {
                        "code": "rest_missing_callback_param",
                        "message": "Missing parameter(s): note",
                        "data": {"status": 400, "params": ["note"]},
                    },
                )
            )
        self.create_calls["order_notes"][str(order["id"])] += 1
        return self._note(
            order, str(note), customer_note=bool(body.get("customer_note")), author="WooCommerce"
        )

    def _note(self, order: dict[str, Any], text: str, *, customer_note: bool, author: str) -> dict:
        local, gmt = data.site_times(_now())
        note = {
            "id": self.next_id(),
            "author": author,
            "date_created": local,
            "date_created_gmt": gmt,
            "note": text,
            "customer_note": customer_note,
        }
        # Newest first, as WooCommerce lists them.
        self.notes.setdefault(order["id"], []).insert(0, note)
        return note

    def _touch(self, item: dict[str, Any], when: str = "") -> None:
        item["date_modified"], item["date_modified_gmt"] = data.site_times(when or _now())

    def upsert_order(self, change: dict[str, Any]) -> dict[str, Any]:
        if change.get("id") and any(o["id"] == change["id"] for o in self.orders):
            order = self.order(int(change["id"]))
            order.update({k: v for k, v in change.items() if k not in SHORT_FORM})
            if "status" in change:
                order["status"] = change["status"]
            self._touch(order, change.get("date_modified_gmt", ""))
            return order
        created = change.get("date_created_gmt") or _now()
        coupon = change.get("coupon")
        shipping = change.get("shipping_price", "59.00")
        order = data.build_order(
            self.by_sku(),
            int(change.get("id") or self.next_id()),
            created=created,
            modified=change.get("date_modified_gmt") or created,
            status=change.get("status", "processing"),
            billing={
                **data.person("Test", "Testsson", "Testgatan 1", "111 11", "Stockholm"),
                **(change.get("billing") or {}),
            },
            shipping_to=change.get("shipping_to"),
            lines=[(li["sku"], int(li.get("quantity", 1))) for li in change.get("line_items", [])],
            shipping=("flat_rate", "PostNord MyPack Home", shipping) if shipping else None,
            coupon=(coupon["code"], Decimal(str(coupon["percent"]))) if coupon else None,
            customer_id=int(change.get("customer_id") or 0),
            number=str(change.get("number") or ""),
        )
        order.update({k: v for k, v in change.items() if k not in SHORT_FORM})
        self.orders.append(order)
        return order

    # --- products ------------------------------------------------------------------------------

    def create_product(self, body: Any, parent: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(error(400, "rest_invalid_json", "Invalid JSON body passed."))
        self.create_calls["products"][str(body.get("sku") or "")] += 1
        _validate(body)
        self._check_unique_sku(str(body.get("sku") or ""), None)
        name = str(body.get("name") or (f"{parent['name']}" if parent else ""))
        item = data.product(
            self.next_id(),
            name,
            str(body.get("sku") or ""),
            str(body.get("regular_price") or ""),
            kind="variation" if parent else str(body.get("type") or "simple"),
            tax_class=str(body.get("tax_class") or ""),
            manage_stock=bool(body.get("manage_stock")),
            stock=int(body.get("stock_quantity") or 0),
            parent_id=parent["id"] if parent else 0,
            modified=_now(),
        )
        self._apply(item, body)
        if parent:
            self.variations.setdefault(parent["id"], []).append(item)
            parent["variations"].append(item["id"])
        else:
            self.products.append(item)
        return item

    def update_product(self, item: dict[str, Any], body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StoreError(error(400, "rest_invalid_json", "Invalid JSON body passed."))
        _validate(body)
        if "sku" in body:
            self._check_unique_sku(str(body["sku"]), item["id"])
        self._apply(item, body)
        self._touch(item)
        return item

    def batch_item(self, action: str, entry: Any, parent: dict[str, Any] | None) -> dict:
        if action == "create":
            return self.create_product(entry, parent)
        item_id = entry.get("id") if isinstance(entry, dict) else entry
        try:
            item = self.variation(parent, int(item_id)) if parent else self._own(int(item_id))
        except (TypeError, ValueError):
            raise StoreError(
                error(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            ) from None
        if action == "update":
            return self.update_product(item, entry)
        if parent:
            self.variations[parent["id"]].remove(item)
            parent["variations"].remove(item["id"])
        else:
            self.products.remove(item)
        return item

    def _own(self, product_id: int) -> dict[str, Any]:
        # /products/batch works on products; a variation id is not one of them there.
        for item in self.products:
            if item["id"] == product_id:
                return item
        raise StoreError(error(400, "woocommerce_rest_product_invalid_id", "Invalid ID."))

    def _check_unique_sku(self, sku: str, own_id: int | None) -> None:
        if not sku:
            return
        existing = self.by_sku().get(sku)
        if existing is not None and existing["id"] != own_id:
            raise StoreError(
                error(
                    400,
                    "product_invalid_sku",
                    "Invalid or duplicated SKU.",
                    resource_id=existing["id"],
                    unique_sku=f"{sku}-1",
                )
            )

    def _apply(self, item: dict[str, Any], body: dict[str, Any]) -> None:
        for name in (
            "name",
            "sku",
            "regular_price",
            "sale_price",
            "status",
            "tax_status",
            "tax_class",
        ):
            if name in body:
                item[name] = body[name]
        for edge in ("from", "to"):
            local, gmt = f"date_on_sale_{edge}", f"date_on_sale_{edge}_gmt"
            value = body.get(gmt, body.get(local, ...))
            if value is ...:
                continue
            if value in (None, ""):
                item[local] = item[gmt] = None
                continue
            moment = _parse(str(value), gmt if gmt in body else local)
            if gmt in body and moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            item[local], item[gmt] = data.site_times(_as_gmt(moment).isoformat())
        if "manage_stock" in body and item.get("manage_stock") != "parent":
            item["manage_stock"] = bool(body["manage_stock"])
            if not item["manage_stock"]:
                item["stock_quantity"] = None
        if item.get("manage_stock") is True:
            # WooCommerce reads the stock, adds the delta and saves: not an atomic increment,
            # but inside one request, which is as close to one as its REST API gets.
            if "stock_quantity" in body:
                item["stock_quantity"] = int(body["stock_quantity"])
            elif "inventory_delta" in body:
                item["stock_quantity"] = int(item["stock_quantity"] or 0) + int(
                    body["inventory_delta"]
                )
        data.refresh_stock_status(item)
        _refresh_price(item)


def _validate(body: dict[str, Any]) -> None:
    for name in STRING_FIELDS:
        if name in body and not isinstance(body[name], str):
            raise invalid(name, f"{name} is not of type string.")
    for name in ("stock_quantity", "inventory_delta"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            if not (isinstance(value, str) and value.lstrip("-").isdigit()):
                raise invalid(name, f"{name} is not of type integer.")
    if "manage_stock" in body and not isinstance(body["manage_stock"], bool):
        raise invalid("manage_stock", "manage_stock is not of type boolean.")
    if "status" in body and body["status"] not in PRODUCT_STATUSES:
        raise invalid("status", f"status is not one of {', '.join(PRODUCT_STATUSES)}.")
    if "tax_status" in body and body["tax_status"] not in TAX_STATUSES:
        raise invalid("tax_status", f"tax_status is not one of {', '.join(TAX_STATUSES)}.")
    for name in DATE_FIELDS:
        if body.get(name):
            _parse(str(body[name]), name)


def _refresh_price(item: dict[str, Any]) -> None:
    if item["type"] == "variable":
        return
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    starts, ends = item.get("date_on_sale_from_gmt"), item.get("date_on_sale_to_gmt")
    on_sale = bool(item.get("sale_price")) and (
        (not starts or datetime.datetime.fromisoformat(starts) <= now)
        and (not ends or datetime.datetime.fromisoformat(ends) >= now)
    )
    item["on_sale"] = on_sale
    item["price"] = item["sale_price"] if on_sale else item["regular_price"]


def _matches(order: dict[str, Any], term: str) -> bool:
    """WooCommerce's order search: the id when numeric, else addresses, e-mail and item names."""
    if term.isdigit() and int(term) == order["id"]:
        return True
    needle = term.casefold()
    haystack = [order["number"], *order["billing"].values(), *order["shipping"].values()]
    haystack += [item["name"] for item in order["line_items"]]
    return any(needle in str(value).casefold() for value in haystack)
