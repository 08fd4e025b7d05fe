"""Deterministic demo data for the WooCommerce sandbox: Fjällmode AB, a Swedish fashion and
outdoor shop with a few books, and the builders that turn short descriptions into WooCommerce's
own order and product JSON (REST API v3 field names, money as strings, dates without offset).

The shop enters prices including VAT (`prices_include_tax`), like most Swedish shops. Its tax
rates: 25 % for the standard class and 6 % for the "reduced-rate" class (books). Amounts are
rounded per line as WooCommerce does: the line's price incl. VAT is what the shopper saw, and the
amount excl. VAT and the tax are derived from it.
"""

from __future__ import annotations

import datetime
import hashlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

TWO = Decimal("0.01")
SITE_ZONE = ZoneInfo("Europe/Stockholm")
FJALLMODE = "fjallmode"
DEMO_SITES = {FJALLMODE: "Fjällmode AB"}

# rate id -> (rate %, tax class, rate code); "standard" is WooCommerce's name for the "" class.
TAX_RATES: dict[int, tuple[Decimal, str, str]] = {
    1: (Decimal("25"), "standard", "SE-MOMS-1"),
    2: (Decimal("6"), "reduced-rate", "SE-MOMS REDUCERAD-2"),
}
RATE_BY_CLASS = {tax_class: rate_id for rate_id, (_, tax_class, _) in TAX_RATES.items()}
# The classes WooCommerce ships with; "zero-rate" has no rate until the merchant adds one.
TAX_CLASSES = {"standard": "Standard", "reduced-rate": "Reduced rate", "zero-rate": "Zero rate"}
SHIPPING_RATE_ID = 1  # shipping is taxed at the standard rate


def tax_rate(rate_id: int) -> dict[str, Any]:
    """A rate as GET /wc/v3/taxes shows it (the rate a string with four decimals)."""
    percent, tax_class, _code = TAX_RATES[rate_id]
    return {
        "id": rate_id,
        "country": "SE",
        "state": "",
        "postcode": "",
        "city": "",
        "postcodes": [],
        "cities": [],
        "rate": f"{percent:.4f}",
        "name": "Moms" if tax_class == "standard" else "Moms reducerad",
        "priority": 1,
        "compound": False,
        "shipping": rate_id == SHIPPING_RATE_ID,
        "order": rate_id,
        "class": tax_class,
    }


def _key(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def demo_credentials(slug: str) -> dict[str, str]:
    """A read/write REST key (the `ck_`/`cs_` form WooCommerce generates) and the webhook secret."""
    return {
        "consumer_key": f"ck_{_key(slug, 'key')}",
        "consumer_secret": f"cs_{_key(slug, 'secret')}",
        "webhook_secret": f"{slug}-webhook-{_key(slug, 'webhook')[:12]}",
    }


def read_only_key(slug: str) -> tuple[str, str]:
    return f"ck_{_key(slug, 'read-key')}", f"cs_{_key(slug, 'read-secret')}"


def money(value: Decimal) -> str:
    return str(value.quantize(TWO, ROUND_HALF_UP))


def site_times(gmt: str) -> tuple[str, str]:
    """(local, gmt) as WooCommerce prints them: ISO 8601, whole seconds, no offset."""
    moment = datetime.datetime.fromisoformat(gmt).replace(tzinfo=datetime.UTC)
    local = moment.astimezone(SITE_ZONE).replace(tzinfo=None)
    return local.isoformat(timespec="seconds"), moment.replace(tzinfo=None).isoformat(
        timespec="seconds"
    )


# --- products ---------------------------------------------------------------------------------

# id, name, sku, price incl. VAT, tax class, manage_stock, stock
SIMPLE_PRODUCTS = [
    (101, "Fjällguiden: Kungsleden", "FM-BOK-001", "249.00", "reduced-rate", True, 40),
    (102, "Svenska fjällfåglar", "FM-BOK-002", "329.00", "reduced-rate", True, 15),
    (103, "Fleecejacka Sarek", "FM-FLEECE-01", "1299.00", "", True, 15),
    (104, "Vindjacka Padjelanta", "FM-VIND-01", "1599.00", "", False, None),
]
# parent id, name, sku, price, attribute, parent manages stock (qty), [(id, option, sku, qty)]
VARIABLE_PRODUCTS = [
    (
        110,
        "Ullunderställ Merino",
        "FM-ULL",
        "899.00",
        "Storlek",
        None,
        [(111, "S", "FM-ULL-S", 12), (112, "M", "FM-ULL-M", 20), (113, "L", "FM-ULL-L", 8)],
    ),
    (
        120,
        "Vandringskängor Tarfala",
        "FM-KANGA",
        "1995.00",
        "Storlek",
        None,
        [
            (121, "40", "FM-KANGA-40", 4),
            (122, "42", "FM-KANGA-42", 6),
            (123, "44", "FM-KANGA-44", 3),
        ],
    ),
    # Stock kept on the parent: the variations say manage_stock "parent".
    (
        130,
        "Mössa Abisko",
        "FM-MOSSA",
        "299.00",
        "Färg",
        30,
        [(131, "Grå", "FM-MOSSA-GRA", None), (132, "Röd", "FM-MOSSA-ROD", None)],
    ),
]
PRODUCTS_CREATED = "2026-10-01T08:00:00"
# Black Week: the fleece is on sale for a limited time.
CAMPAIGNS = {"FM-FLEECE-01": ("1039.00", "2026-11-23T23:00:00", "2026-11-30T22:59:59")}


def product(
    product_id: int,
    name: str,
    sku: str,
    price: str,
    *,
    kind: str = "simple",
    tax_class: str = "",
    manage_stock: bool | str = True,
    stock: int | None = None,
    parent_id: int = 0,
    attributes: list[dict[str, Any]] | None = None,
    variations: list[int] | None = None,
    modified: str = PRODUCTS_CREATED,
) -> dict[str, Any]:
    created_local, created_gmt = site_times(PRODUCTS_CREATED)
    modified_local, modified_gmt = site_times(modified)
    data: dict[str, Any] = {
        "id": product_id,
        "name": name,
        "slug": name.lower().replace(" ", "-").replace(":", ""),
        "type": kind,
        "status": "publish",
        "sku": sku,
        "price": price,
        "regular_price": "" if kind == "variable" else price,
        "sale_price": "",
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "tax_status": "taxable",
        "tax_class": tax_class,
        "manage_stock": manage_stock,
        "stock_quantity": stock if manage_stock is True else None,
        "stock_status": "instock",
        "backorders": "no",
        "parent_id": parent_id,
        "attributes": attributes or [],
        "variations": variations or [],
        "date_created": created_local,
        "date_created_gmt": created_gmt,
        "date_modified": modified_local,
        "date_modified_gmt": modified_gmt,
        "meta_data": [],
    }
    if sku in CAMPAIGNS:
        sale, starts, ends = CAMPAIGNS[sku]
        data.update(sale_price=sale)
        data.update(sale_dates(starts, ends))
    refresh_stock_status(data)
    return data


def sale_dates(starts_gmt: str | None, ends_gmt: str | None) -> dict[str, Any]:
    local_from, gmt_from = site_times(starts_gmt) if starts_gmt else (None, None)
    local_to, gmt_to = site_times(ends_gmt) if ends_gmt else (None, None)
    return {
        "date_on_sale_from": local_from,
        "date_on_sale_from_gmt": gmt_from,
        "date_on_sale_to": local_to,
        "date_on_sale_to_gmt": gmt_to,
    }


def refresh_stock_status(data: dict[str, Any]) -> None:
    if data.get("manage_stock") is True:
        data["stock_status"] = "instock" if (data.get("stock_quantity") or 0) > 0 else "outofstock"


def demo_catalogue() -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """(products, variations by parent id)."""
    products = [
        product(pid, name, sku, price, tax_class=tax_class, manage_stock=managed, stock=stock)
        for pid, name, sku, price, tax_class, managed, stock in SIMPLE_PRODUCTS
    ]
    variations: dict[int, list[dict[str, Any]]] = {}
    for pid, name, sku, price, attribute, parent_stock, options in VARIABLE_PRODUCTS:
        products.append(
            product(
                pid,
                name,
                sku,
                price,
                kind="variable",
                manage_stock=parent_stock is not None,
                stock=parent_stock,
                attributes=[
                    {
                        "id": 0,
                        "name": attribute,
                        "variation": True,
                        "options": [o[1] for o in options],
                    }
                ],
                variations=[o[0] for o in options],
            )
        )
        variations[pid] = [
            product(
                vid,
                f"{name} - {option}",
                vsku,
                price,
                kind="variation",
                manage_stock=True if qty is not None else "parent",
                stock=qty,
                parent_id=pid,
                attributes=[{"id": 0, "name": attribute, "option": option}],
            )
            for vid, option, vsku, qty in options
        ]
    return products, variations


# --- orders -----------------------------------------------------------------------------------


def person(first: str, last: str, street: str, postcode: str, city: str, **extra: str) -> dict:
    local = f"{first}.{last}".lower().translate(str.maketrans("åäöé", "aaoe"))
    return {
        "first_name": first,
        "last_name": last,
        "company": extra.get("company", ""),
        "address_1": street,
        "address_2": extra.get("address_2", ""),
        "city": city,
        "state": "",
        "postcode": postcode,
        "country": "SE",
        "email": extra.get("email", f"{local}@example.se"),
        "phone": extra.get("phone", "070-123 45 67"),
    }


def _split(incl: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(excl. VAT, VAT) of an amount incl. VAT, rounded to öre as WooCommerce rounds a line."""
    excl = (incl / (1 + rate / 100)).quantize(TWO, ROUND_HALF_UP)
    return excl, incl - excl


def build_order(
    catalogue: dict[str, dict[str, Any]],
    order_id: int,
    *,
    created: str,
    modified: str,
    status: str,
    billing: dict[str, Any],
    lines: list[tuple[str, int]],
    shipping_to: dict[str, Any] | None = None,
    shipping: tuple[str, str, str] | None = ("flat_rate", "PostNord MyPack Home", "59.00"),
    coupon: tuple[str, Decimal] | None = None,
    customer_id: int = 0,
    number: str = "",
    meta_data: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A WooCommerce order from (sku, quantity) lines priced from the catalogue (incl. VAT), an
    optional shipping (method id, title, price incl. VAT) and a percentage coupon on all lines."""
    line_items, tax_by_rate = [], {rid: [Decimal(0), Decimal(0)] for rid in TAX_RATES}
    percent = coupon[1] if coupon else Decimal(0)
    for position, (sku, quantity) in enumerate(lines, 1):
        item = catalogue[sku]
        rate_id = RATE_BY_CLASS[item.get("tax_class") or "standard"]
        rate = TAX_RATES[rate_id][0]
        gross = Decimal(str(item["price"])) * quantity
        subtotal, subtotal_tax = _split(gross, rate)
        total, total_tax = _split((gross * (1 - percent / 100)).quantize(TWO, ROUND_HALF_UP), rate)
        tax_by_rate[rate_id][0] += total_tax
        line_items.append(
            {
                "id": order_id * 10 + position,
                "name": item["name"],
                "product_id": item["parent_id"] or item["id"],
                "variation_id": item["id"] if item["parent_id"] else 0,
                "quantity": quantity,
                "tax_class": item.get("tax_class") or "",
                "subtotal": money(subtotal),
                "subtotal_tax": money(subtotal_tax),
                "total": money(total),
                "total_tax": money(total_tax),
                "taxes": [
                    {"id": rate_id, "total": money(total_tax), "subtotal": money(subtotal_tax)}
                ],
                "meta_data": [],
                "sku": sku,
                "price": (total / quantity).quantize(Decimal("0.000001")),
                "parent_name": None,
            }
        )
    shipping_lines = []
    if shipping:
        method_id, title, price = shipping
        ship_total, ship_tax = _split(Decimal(price), TAX_RATES[SHIPPING_RATE_ID][0])
        tax_by_rate[SHIPPING_RATE_ID][1] += ship_tax
        shipping_lines.append(
            {
                "id": order_id * 10 + 9,
                "method_title": title,
                "method_id": method_id,
                "instance_id": "1",
                "total": money(ship_total),
                "total_tax": money(ship_tax),
                "taxes": [{"id": SHIPPING_RATE_ID, "total": money(ship_tax), "subtotal": ""}]
                if ship_tax
                else [],
                "meta_data": [],
            }
        )
    discount = sum((Decimal(li["subtotal"]) - Decimal(li["total"]) for li in line_items), TWO * 0)
    discount_tax = sum(
        (Decimal(li["subtotal_tax"]) - Decimal(li["total_tax"]) for li in line_items), TWO * 0
    )
    cart_tax = sum((Decimal(li["total_tax"]) for li in line_items), TWO * 0)
    shipping_total = sum((Decimal(s["total"]) for s in shipping_lines), TWO * 0)
    shipping_tax = sum((Decimal(s["total_tax"]) for s in shipping_lines), TWO * 0)
    items_total = sum((Decimal(li["total"]) for li in line_items), TWO * 0)
    created_local, created_gmt = site_times(created)
    modified_local, modified_gmt = site_times(modified)
    return {
        "id": order_id,
        "parent_id": 0,
        "number": number or str(order_id),
        "order_key": f"wc_order_{_key(str(order_id))[:13]}",
        "created_via": "checkout",
        "version": "9.4.2",
        "status": status,
        "currency": "SEK",
        "date_created": created_local,
        "date_created_gmt": created_gmt,
        "date_modified": modified_local,
        "date_modified_gmt": modified_gmt,
        "discount_total": money(discount),
        "discount_tax": money(discount_tax),
        "shipping_total": money(shipping_total),
        "shipping_tax": money(shipping_tax),
        "cart_tax": money(cart_tax),
        "total": money(items_total + shipping_total + cart_tax + shipping_tax),
        "total_tax": money(cart_tax + shipping_tax),
        "prices_include_tax": True,
        "customer_id": customer_id,
        "customer_note": "",
        "billing": billing,
        "shipping": {k: v for k, v in (shipping_to or billing).items() if k != "email"},
        "payment_method": "kco",
        "payment_method_title": "Klarna",
        "transaction_id": _key("txn", str(order_id))[:24],
        "meta_data": meta_data or [],
        "line_items": line_items,
        "tax_lines": [
            {
                "id": order_id * 10 + 5 + rate_id,
                "rate_code": TAX_RATES[rate_id][2],
                "rate_id": rate_id,
                "label": "Moms",
                "compound": False,
                "tax_total": money(item_tax),
                "shipping_tax_total": money(ship_tax),
                "rate_percent": int(TAX_RATES[rate_id][0]),
                "meta_data": [],
            }
            for rate_id, (item_tax, ship_tax) in tax_by_rate.items()
            if item_tax or ship_tax
        ],
        "shipping_lines": shipping_lines,
        "fee_lines": [],
        "coupon_lines": [
            {
                "id": order_id * 10 + 8,
                "code": coupon[0],
                "discount": money(discount),
                "discount_tax": money(discount_tax),
                "meta_data": [],
            }
        ]
        if coupon
        else [],
        "refunds": [],
    }


def demo_orders(catalogue: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Eight orders. 1207 and 1208 were modified in the same second (a tie for the cursor)."""
    anna = person("Anna", "Karlsson", "Götgatan 14", "118 46", "Stockholm")
    erik = person("Erik", "Lindberg", "Linnégatan 3", "413 04", "Göteborg")
    maja = person(
        "Maja",
        "Nilsson",
        "Lars Janssonsgatan 20",
        "981 31",
        "Kiruna",
        company="Nilssons Fjällturer AB",
        email="maja@fjallturer.example.se",
    )
    lars = person("Lars", "Persson", "Storgatan 45", "903 26", "Umeå")
    sofia = person("Sofia", "Andersson", "Davidshallsgatan 8", "211 45", "Malmö")
    oskar = person("Oskar", "Johansson", "Svartbäcksgatan 12", "753 20", "Uppsala")
    elin = person("Elin", "Svensson", "Prästgatan 22", "831 31", "Östersund")
    gustav = person("Gustav", "Svensson", "Årevägen 110", "837 52", "Åre")
    karin = person("Karin", "Lund", "Storgatan 9", "972 31", "Luleå", address_2="Lgh 1102")
    o = build_order
    orders = [
        o(
            catalogue,
            1201,
            created="2026-11-10T08:15:00",
            modified="2026-11-10T08:20:00",
            status="processing",
            billing=anna,
            lines=[("FM-ULL-M", 1)],
            customer_id=7,
        ),
        o(
            catalogue,
            1202,
            created="2026-11-10T13:40:00",
            modified="2026-11-12T09:00:00",
            status="completed",
            billing=erik,
            lines=[("FM-BOK-001", 2), ("FM-FLEECE-01", 1)],
            shipping=("free_shipping", "Fri frakt", "0.00"),
            customer_id=8,
        ),
        o(
            catalogue,
            1203,
            created="2026-11-11T09:05:00",
            modified="2026-11-11T09:10:00",
            status="processing",
            billing=maja,
            lines=[("FM-KANGA-42", 2)],
            shipping=("flat_rate", "DHL Företagspaket", "79.00"),
            coupon=("vinter10", Decimal("10")),
            customer_id=9,
            meta_data=[{"id": 90, "key": "_billing_organisation_number", "value": "556912-3454"}],
        ),
        o(
            catalogue,
            1204,
            created="2026-11-11T19:22:00",
            modified="2026-11-13T10:00:00",
            status="refunded",
            billing=lars,
            lines=[("FM-FLEECE-01", 1)],
            customer_id=10,
        ),
        o(
            catalogue,
            1205,
            created="2026-11-12T10:00:00",
            modified="2026-11-12T10:05:00",
            status="on-hold",
            billing=sofia,
            lines=[("FM-MOSSA-GRA", 2), ("FM-BOK-002", 1)],
            customer_id=11,
        ),
        o(
            catalogue,
            1206,
            created="2026-11-12T16:45:00",
            modified="2026-11-12T17:00:00",
            status="cancelled",
            billing=oskar,
            lines=[("FM-VIND-01", 1)],
            customer_id=12,
        ),
        o(
            catalogue,
            1207,
            created="2026-11-13T07:30:00",
            modified="2026-11-13T12:00:00",
            status="processing",
            billing=elin,
            shipping_to=gustav,
            lines=[("FM-ULL-S", 1), ("FM-MOSSA-ROD", 1)],
            customer_id=13,
        ),
        o(
            catalogue,
            1208,
            created="2026-11-13T07:31:00",
            modified="2026-11-13T12:00:00",
            status="pending",
            billing=karin,
            lines=[("FM-BOK-001", 1), ("FM-KANGA-44", 1)],
        ),
    ]
    refunded = orders[3]
    refunded["refunds"] = [{"id": 1290, "reason": "Fel storlek", "total": f"-{refunded['total']}"}]
    return orders
