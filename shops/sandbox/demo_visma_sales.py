"""Visma demo data beyond the basics (shops/sandbox/demo_data.py): the Pro companies' sales
price lists, the cost centres multishop routing books on, and a shipped order whose parcel
number the warehouse wrote in a note."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.sandbox.demo_data import (
    FJALLMODE_SHOPS,
    NORRSKEN,
    PRO_VARIANT,
    TWO,
    VAT_CODINGS,
    VISMA_VARIANTS,
    stable_id,
)


def extras(tenant: str, articles: list[dict[str, Any]]) -> dict[str, Any]:
    """The collections this module adds to the tenant's demo company."""
    return {
        "costcenters": _cost_centres(tenant),
        **_sales_price_lists(tenant, articles),
        **_delivered_order(tenant, articles),
    }


# Sales price lists beside the standard one (which holds each article's ordinary price):
# name -> {article number: net price}. Norrsken's Christmas campaign and reseller prices;
# Fjällmode's rain-jacket campaign (its Shopify shop shows it as a "was" price).
SALES_PRICE_LISTS: dict[str, dict[str, dict[str, str]]] = {
    NORRSKEN: {
        "Kampanj": {"KOK-1001": "999.20", "KOK-1003": "287.20", "MAT-2001": "79.00"},
        "Återförsäljare": {"KOK-1001": "897.00", "KOK-1002": "479.40", "MAT-2001": "66.75"},
    },
    FJALLMODE_SHOPS: {"Kampanj": {"FM-3001-M": "959.20", "FM-3001-L": "959.20"}},
}
# Cost centre number 1 (where a row's CostCenterItemId1 points): short name, name, active.
COST_CENTRE_ITEMS: dict[str, list[tuple[str, str, bool]]] = {
    NORRSKEN: [
        ("WEBB", "Webbshop", True),
        ("OUTLET", "Outlet", True),
        ("B2B", "Företagsförsäljning", True),
        ("MASSA", "Mässförsäljning", False),
    ],
    FJALLMODE_SHOPS: [("SHOPIFY", "Shopify-butiken", True), ("WOO", "WooCommerce-butiken", True)],
}
# A telephone order Fjällmode entered and shipped in Visma; the warehouse wrote the parcel
# number in a note on it, the way tracking reaches the order status flow.
DELIVERED_ORDER_NOTES = [
    ("Spårning", "Kolli skickat med PostNord, spårningsnummer 00370712345678901234"),
]


def _sales_price_lists(tenant: str, articles: list[dict[str, Any]]) -> dict[str, Any]:
    if VISMA_VARIANTS[tenant] != PRO_VARIANT:
        return {"salespricelists": [], "salesprices": []}
    by_number = {a["Number"]: a for a in articles}
    rates = {
        stable_id("visma", tenant, "coding", c["VatRatePercent"]): c["VatRatePercent"]
        for c in VAT_CODINGS
    }
    lists = [("Standard", True, {a["Number"]: a["NetPrice"] for a in articles})]
    lists += [(name, False, prices) for name, prices in SALES_PRICE_LISTS.get(tenant, {}).items()]
    found, prices = [], []
    for number, (name, standard, net_prices) in enumerate(lists, start=1):
        list_id = stable_id("visma", tenant, "salespricelist", name)
        found.append(
            {
                "Id": list_id,
                "Name": name,
                "Number": number,
                "CurrencyCode": "SEK",
                "Note": "",
                "IsStandard": standard,
                "IsActive": True,
                "ChangedUtc": "2026-01-01T00:00:00Z",
            }
        )
        for article_number, net in net_prices.items():
            article = by_number[article_number]
            prices.append(
                sales_price_row(
                    list_id, article["Id"], Decimal(str(net)), rates[article["CodingId"]]
                )
            )
    return {"salespricelists": found, "salesprices": prices}


def sales_price_row(
    list_id: str, article_id: str, net: Decimal, rate: Decimal, changed: str = ""
) -> dict[str, Any]:
    """A SalesPriceListRowApi object."""
    return {
        "SalesPriceListId": list_id,
        "ArticleId": article_id,
        "NetPrice": net,
        "GrossPrice": (net * (100 + rate) / 100).quantize(TWO, ROUND_HALF_UP),
        "CurrencyCode": "SEK",
        "ChangedUtc": changed or "2026-01-01T00:00:00Z",
    }


def _cost_centres(tenant: str) -> list[dict[str, Any]]:
    items = COST_CENTRE_ITEMS.get(tenant)
    if not items:
        return []
    centre_id = stable_id("visma", tenant, "costcenter", 1)
    return [
        {
            "Id": centre_id,
            "Name": "Försäljningskanal",
            "Number": 1,
            "IsActive": True,
            "Items": [
                {
                    "Id": stable_id("visma", tenant, "costcenteritem", short),
                    "CostCenterId": centre_id,
                    "Name": name,
                    "ShortName": short,
                    "IsActive": active,
                }
                for short, name, active in items
            ],
        }
    ]


def _delivered_order(tenant: str, articles: list[dict[str, Any]]) -> dict[str, Any]:
    """Fjällmode's shipped telephone order and the warehouse's note on it."""
    if tenant != FJALLMODE_SHOPS:
        return {"orders": [], "notes": []}
    article = articles[0]
    order_id = stable_id("visma", tenant, "order", "telefon-1")
    order = {
        "Id": order_id,
        "Number": 1,
        "CustomerId": "",
        "YourReference": "Telefonorder 1",
        "OrderDate": "2026-11-30",
        "Status": 3,
        "ShippedDateTime": "2026-12-01T09:30:00Z",
        "DeliveryMethodName": "PostNord MyPack Collect",
        "DeliveryMethodCode": "PN",
        "CurrencyCode": "SEK",
        "Amount": article["NetPrice"],
        "VatAmount": (article["NetPrice"] / 4).quantize(TWO, ROUND_HALF_UP),
        "RoundingsAmount": Decimal("0.00"),
        "Rows": [
            {
                "LineNumber": 1,
                "ArticleId": article["Id"],
                "ArticleNumber": article["Number"],
                "IsTextRow": False,
                "Text": article["Name"],
                "UnitPrice": article["NetPrice"],
                "Quantity": Decimal("1"),
                "DeliveredQuantity": Decimal("1"),
            }
        ],
        "CreatedUtc": "2026-11-30T10:00:00Z",
        "ModifiedUtc": "2026-12-01T09:30:00Z",
    }
    notes = [
        {
            "Id": stable_id("visma", tenant, "note", subject),
            "UserId": stable_id("visma", tenant, "user", "lager"),
            "AttachedTo": order_id,
            "DocumentType": 6,
            "Subject": subject,
            "Text": text,
            "CreatedUtc": "2026-12-01T09:31:00Z",
            "ModifiedUtc": "2026-12-01T09:31:00Z",
            "IsDone": False,
        }
        for subject, text in DELIVERED_ORDER_NOTES
    ]
    return {"orders": [order], "notes": notes}
