"""Jetshop / Norce demo data: the shops' orders and catalogue (channels, warehouses, price lists,
prices, stock), matching the article numbers of the merchants' Visma companies in demo_data.
Volume for tests and benchmarks comes from jetshop_generate.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.sandbox.demo_data import (
    ARTICLES,
    FJALLBOK,
    JETSHOP_APPLICATION_IDS,
    NORRSKEN,
    SHIPPING_ARTICLE,
    TWO,
)

# --- Jetshop / Norce orders --------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(TWO, ROUND_HALF_UP)


def norce_item(
    line_no: int,
    part_no: str,
    description: str,
    quantity: int,
    price_before_discount: str,
    vat_rate: int,
    *,
    discount_percent: int = 0,
    freight: bool = False,
) -> dict[str, Any]:
    """One OrderItem as Norce sends it: UnitPrice after discount, excl. VAT; UnitVat per item."""
    original = Decimal(price_before_discount)
    price = _money(original * (100 - discount_percent) / 100)
    return {
        "LineNo": line_no,
        "PartNo": part_no,
        "ErpPartNo": part_no,
        "Description": description,
        "Quantity": quantity,
        "Quantity2": Decimal(quantity),
        "UnitPrice": price,
        "UnitPriceOriginal": original,
        "UnitVat": _money(price * vat_rate / 100),
        "UnitPriceOriginalVat": _money(original * vat_rate / 100),
        "VatRate": Decimal(vat_rate),
        "Discount": _money((original - price) * quantity),
        "Type": "Freight" if freight else "ErpStandard",
        "TypeGroup": "Fee" if freight else "Physical",
        "UnitOfMeasure": "st",
    }


def freight(line_no: int) -> dict[str, Any]:
    return norce_item(line_no, SHIPPING_ARTICLE, "Frakt PostNord", 1, "39.20", 25, freight=True)


def _ascii(name: str) -> str:
    return name.lower().translate(str.maketrans("åäöé", "aaoe"))


def person(
    first: str,
    last: str,
    line1: str,
    zip_code: str,
    city: str,
    *,
    code: str = "",
    email: str = "",
    phone: str = "",
) -> dict[str, Any]:
    return {
        "CustomerCode": code,
        "FirstName": first,
        "LastName": last,
        "Email": email or f"{_ascii(first)}.{_ascii(last)}@example.se",
        "CellPhone": phone or "070-123 45 67",
        "Address": {
            "Line1": line1,
            "Line2": "",
            "ZipCode": zip_code,
            "City": city,
            "Country": "SE",
        },
    }


def norce_order(
    tenant: str,
    order_id: int,
    order_no: str,
    created: str,
    updated: str,
    status_id: int,
    bill_to: dict[str, Any],
    items: list[dict[str, Any]],
    ship_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "Id": order_id,
        "OrderNo": order_no,
        "ClientOrderRef": str(700000 + order_id),
        "ApplicationId": JETSHOP_APPLICATION_IDS[tenant],
        "SalesAreaId": 1,  # Sweden
        "StatusId": status_id,
        "Created": created,
        "Updated": updated,
        "CurrencyCode": "SEK",
        "OrderType": 1,
        "Source": "WEB",
        "BillTo": bill_to,
        "ShipTo": ship_to or bill_to,
        "Items": items,
        "Payments": [{"PaymentMethodCode": "KlarnaCheckout", "PaymentRef": f"klarna-{order_id}"}],
    }


def private_buyer(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"Company": None, "Person": person(*args, **kwargs)}


BERGSTROM = {
    "Company": {
        "Code": "F-2001",
        "Name": "Bergström Konsult AB",
        "OrganizationNo": "556804-3219",
        "VatNo": "SE556804321901",
    },
    "Person": person(
        "Karin",
        "Bergström",
        "Storgatan 22",
        "852 30",
        "Sundsvall",
        code="F-2001",
        email="karin@bergstromkonsult.se",
    ),
}


# Sold in the shop but not (yet) an article in Visma: its order fails with a clear message, so
# the demo shows support staff what a failed item looks like.
SHOP_ONLY_ARTICLES = {"KOK-1004": ("Brödkniv 22 cm", 25, "319.20")}

CREATED, CONFIRMED, DELIVERED, CANCELLED = 0, 2, 4, 6
FREIGHT = "FRAKT"
Rows = list[str | tuple[str, int] | tuple[str, int, int]]  # number, quantity, discount percent


def _items(tenant: str, rows: Rows) -> list[dict[str, Any]]:
    catalogue = {number: (name, rate, price) for number, name, rate, price in ARTICLES[tenant]}
    catalogue.update(SHOP_ONLY_ARTICLES)
    items = []
    for line, row in enumerate(rows, start=1):
        if row == FREIGHT:
            items.append(freight(line))
            continue
        number, quantity, discount = (*row, 0)[:3] if isinstance(row, tuple) else (row, 1, 0)
        name, rate, price = catalogue[number]
        items.append(
            norce_item(line, number, name, quantity, price, rate, discount_percent=discount)
        )
    return items


def _buyer(first: str, last: str, line1: str, zip_code: str, city: str, code: str = "") -> dict:
    return private_buyer(first, last, line1, zip_code, city, code=code)


ANNA = _buyer("Anna", "Lindqvist", "Storgatan 12", "411 38", "Göteborg", "C-1001")
EVA_IN_LUND = _buyer("Eva", "Nilsson", "Klostergatan 5", "222 22", "Lund")

# Id, OrderNo, Created, Updated, StatusId, BillTo, rows, ShipTo (None = same as BillTo).
# fmt: off
ORDERS: dict[str, list[tuple[Any, ...]]] = {
    NORRSKEN: [
        (1001, "100101", "2026-11-02T08:14:00Z", "2026-11-02T08:20:00Z", CONFIRMED, ANNA,
         ["KOK-1001", ("MAT-2001", 2), FREIGHT], None),
        (1002, "100102", "2026-11-03T10:02:00Z", "2026-11-03T10:05:00Z", CONFIRMED,
         _buyer("Erik", "Johansson", "Drottninggatan 45", "111 21", "Stockholm", "C-1002"),
         ["KOK-1002", "BOK-3001", FREIGHT], None),
        (1003, "100103", "2026-11-04T13:40:00Z", "2026-11-04T13:45:00Z", CONFIRMED, BERGSTROM,
         [("CAT-4001", 2), ("MAT-2001", 5), FREIGHT], None),
        # A campaign: 10 % off the lingonberry jam.
        (1004, "100104", "2026-11-05T19:11:00Z", "2026-11-05T19:15:00Z", CONFIRMED,
         _buyer("Maria", "Karlsson", "Kungsgatan 3", "753 21", "Uppsala", "C-1004"),
         [("MAT-2002", 3, 10), ("MAT-2003", 2), FREIGHT], None),
        # A gift, delivered to someone else.
        (1005, "100105", "2026-11-06T07:55:00Z", "2026-11-06T08:00:00Z", CONFIRMED,
         _buyer("Lars", "Nilsson", "Västra Hamngatan 8", "211 22", "Malmö", "C-1005"),
         ["KOK-1003", FREIGHT], EVA_IN_LUND),
        # Free shipping over 500 kr: no freight row.
        (1006, "100106", "2026-11-08T11:30:00Z", "2026-11-08T11:31:00Z", CONFIRMED,
         _buyer("Sofia", "Andersson", "Rådhusesplanaden 14", "903 28", "Umeå", "C-1006"),
         [("BOK-3001", 2)], None),
        (1007, "100107", "2026-11-09T16:20:00Z", "2026-11-10T09:00:00Z", CANCELLED,
         _buyer("Johan", "Persson", "Ågatan 19", "582 22", "Linköping", "C-1007"),
         ["KOK-1001", FREIGHT], None),
        # A guest (no customer code), not yet confirmed.
        (1008, "100108", "2026-11-12T21:05:00Z", "2026-11-12T21:05:00Z", CREATED,
         _buyer("Emma", "Svensson", "Drottninggatan 30", "702 22", "Örebro"),
         [("MAT-2001", 4), "MAT-2003", FREIGHT], None),
        # 1009 and 1010 were updated in the same second: the cursor breaks the tie by Id.
        (1009, "100109", "2026-11-13T09:12:00Z", "2026-11-14T12:00:00Z", DELIVERED,
         _buyer("Oskar", "Gustafsson", "Stora Gatan 40", "722 12", "Västerås", "C-1009"),
         ["KOK-1002", "KOK-1003", FREIGHT], None),
        (1010, "100110", "2026-11-14T11:48:00Z", "2026-11-14T12:00:00Z", CONFIRMED,
         _buyer("Ingrid", "Olsson", "Östra Storgatan 7", "553 21", "Jönköping", "C-1010"),
         ["CAT-4001", ("MAT-2002", 2), FREIGHT], None),
        # Has an article Visma does not know: this one cannot be transferred as it is.
        (1011, "100111", "2026-11-16T10:02:00Z", "2026-11-16T10:03:00Z", CONFIRMED,
         _buyer("Henrik", "Lund", "Hamngatan 2", "371 33", "Karlskrona", "C-1011"),
         ["KOK-1004", FREIGHT], None),
    ],
    FJALLBOK: [
        (2001, "5001", "2026-11-05T09:00:00Z", "2026-11-05T09:02:00Z", CONFIRMED,
         _buyer("Nils", "Lundgren", "Prästgatan 9", "831 31", "Östersund", "A-1"),
         ["BOK-5001", "KAR-5101", FREIGHT], None),
        (2002, "5002", "2026-11-07T14:30:00Z", "2026-11-07T14:31:00Z", CONFIRMED,
         _buyer("Elin", "Holm", "Skolgatan 18", "972 33", "Luleå", "A-2"),
         [("UTR-6001", 2), FREIGHT], None),
        (2003, "5003", "2026-11-10T10:10:00Z", "2026-11-10T10:12:00Z", CONFIRMED,
         _buyer("Per", "Sandberg", "Kyrkgatan 4", "903 26", "Umeå", "A-3"),
         [("BOK-5002", 1, 20), FREIGHT], None),
        (2004, "5004", "2026-11-15T17:45:00Z", "2026-11-15T17:46:00Z", CREATED,
         _buyer("Linnea", "Ek", "Norra Strandgatan 2", "830 13", "Åre", "A-4"),
         [("BOK-5001", 3)], None),
    ],
}
# fmt: on


def jetshop_orders(tenant: str) -> list[dict[str, Any]]:
    return [
        norce_order(
            tenant,
            order_id,
            number,
            created,
            updated,
            status,
            bill_to,
            _items(tenant, rows),
            ship_to,
        )
        for order_id, number, created, updated, status, bill_to, rows, ship_to in ORDERS[tenant]
    ]


# --- catalogue: channels, warehouses, products, price lists, prices, stock ----------------------

# Norce applications (channels): id, name, currency, culture. Multishop is native in Norce.
CHANNELS: dict[str, list[tuple[int, str, str, str]]] = {
    NORRSKEN: [
        (JETSHOP_APPLICATION_IDS[NORRSKEN], "Norrsken Hem & Kök", "SEK", "sv-SE"),
        (JETSHOP_APPLICATION_IDS[NORRSKEN] + 1, "Norrsken Outlet", "SEK", "sv-SE"),
    ],
    FJALLBOK: [(JETSHOP_APPLICATION_IDS[FJALLBOK], "Fjällbokhandeln", "SEK", "sv-SE")],
}
# warehouse code, location code, on hand per article
WAREHOUSES: dict[str, list[tuple[str, str, int]]] = {
    NORRSKEN: [("MAIN", "A", 25), ("STORE", "1", 4)],
    FJALLBOK: [("MAIN", "A", 12)],
}
STANDARD_PRICE_LIST = "STANDARD"
CAMPAIGN_PRICE_LIST = "KAMPANJ-JUL"
CAMPAIGN = ("2026-12-01", "2026-12-24")


def catalogue(tenant: str) -> dict[str, Any]:
    """The shop's products, price lists, prices and stock, keyed the way Norce keys them."""
    sellable = [row for row in ARTICLES[tenant] if row[0] != SHIPPING_ARTICLE]
    if tenant == NORRSKEN:
        sellable += [(n, *rest) for n, rest in SHOP_ONLY_ARTICLES.items()]
    products = {
        number: {
            "ProductId": 5000 + index,
            "PartNo": number,
            "ManufacturerPartNo": number,
            "Name": name,
            "VatRate": Decimal(rate),
            "Status": "Active",
            "Updated": "2026-01-01T00:00:00Z",
        }
        for index, (number, name, rate, _price) in enumerate(sellable, start=1)
    }
    price_lists = {
        STANDARD_PRICE_LIST: {
            "Id": 1,
            "Code": STANDARD_PRICE_LIST,
            "Name": "Standardpris",
            "CurrencyCode": "SEK",
            "IsActive": True,
        },
        CAMPAIGN_PRICE_LIST: {
            "Id": 2,
            "Code": CAMPAIGN_PRICE_LIST,
            "Name": "Julkampanj",
            "CurrencyCode": "SEK",
            "IsActive": True,
            "ValidFrom": CAMPAIGN[0],
            "ValidTo": CAMPAIGN[1],
        },
    }
    prices = {
        (number, STANDARD_PRICE_LIST): {
            "PartNo": number,
            "PriceListId": 1,
            "PriceListCode": STANDARD_PRICE_LIST,
            "PriceSale": Decimal(price),
            "PriceCatalog": None,
            "QtyBreak": 1,
            "IsActive": True,
        }
        for number, _name, _rate, price in sellable
    }
    # Every third article is 20 % off for Christmas.
    for number, _name, _rate, price in sellable[::3]:
        prices[(number, CAMPAIGN_PRICE_LIST)] = {
            "PartNo": number,
            "PriceListId": 2,
            "PriceListCode": CAMPAIGN_PRICE_LIST,
            "PriceSale": (Decimal(price) * Decimal("0.8")).quantize(TWO, ROUND_HALF_UP),
            "PriceCatalog": Decimal(price),
            "QtyBreak": 1,
            "IsActive": True,
        }
    onhands = {
        (number, warehouse, location): {
            "PartNo": number,
            "WarehouseCode": warehouse,
            "LocationCode": location,
            "OnhandValue": Decimal(quantity),
            "IncomingValue": Decimal(0),
        }
        for number, *_rest in sellable
        for warehouse, location, quantity in WAREHOUSES[tenant]
    }
    return {
        "products": products,
        "price_lists": price_lists,
        "prices": prices,
        "onhands": onhands,
        "channels": CHANNELS[tenant],
    }
