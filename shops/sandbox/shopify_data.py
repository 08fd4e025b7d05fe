"""Deterministic Shopify demo data: Fjällmode AB, a Swedish fashion shop (clothes at 25 % VAT,
a knitting book at 6 %), prices including VAT as Swedish shops have them, two stock locations,
twelve orders and three Shopify Payments payouts that settle them.

Objects are stored in the shape the GraphQL Admin API answers with (connections as {"nodes"},
money as {"shopMoney", "presentmentMoney"}), so the sandbox can hand them out as they are.
The money is computed the way Shopify computes it: discounts allocated per line, tax per line
from the VAT-inclusive price (tax = price − price / (1 + rate), rounded to the öre).
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FJALLMODE = "fjallmode"
SHOPIFY_TENANTS = (FJALLMODE,)
SHOP_NAMES = {FJALLMODE: "Fjällmode AB"}
CURRENCY = "SEK"
TWO = Decimal("0.01")

# The access token is fixed rather than signed: Shopify's offline tokens never expire, and a
# fixed one keeps working after a sandbox restart. client_secret signs webhooks.
CREDENTIALS: dict[str, dict[str, str]] = {
    FJALLMODE: {
        "access_token": "shpat_demo_fjallmode_5f0c2a91d4e7b3a6",
        "client_secret": "shpss_demo_fjallmode_8b1e4d7c2f9a0635",
    }
}

LOCATIONS = [
    ("gid://shopify/Location/71001", "Lager Göteborg"),
    ("gid://shopify/Location/71002", "Butik Stockholm"),
]

# product id, title, VAT %, [(sku, variant title, price incl. VAT, compare-at, stock per location)]
Catalogue = list[tuple[int, str, int, list[tuple[str, str, str, str | None, tuple[int, int]]]]]
PRODUCTS: Catalogue = [
    (
        8001,
        "Merinotröja Abisko",
        25,
        [
            ("FM-2001-S", "S", "899.00", "1099.00", (12, 3)),
            ("FM-2001-M", "M", "899.00", "1099.00", (18, 4)),
            ("FM-2001-L", "L", "899.00", "1099.00", (9, 2)),
        ],
    ),
    (8002, "Ullsockor Tarfala", 25, [("FM-1001", "Default Title", "149.00", None, (40, 8))]),
    (
        8003,
        "Regnjacka Sarek",
        25,
        [
            ("FM-3001-M", "M", "1499.00", None, (5, 1)),
            ("FM-3001-L", "L", "1499.00", None, (4, 0)),
        ],
    ),
    (8004, "Mössa Kebne", 25, [("FM-1101", "Default Title", "299.00", None, (20, 6))]),
    (
        8005,
        "Sticka fjällmönster (bok)",
        6,
        [("FM-9001", "Default Title", "249.00", None, (15, 4))],
    ),
]
SHIPPING = ("PostNord Ombud", "postnord-ombud", Decimal("49.00"), 25)
CATALOGUE_UPDATED = "2026-10-01T08:00:00Z"
STANDARD_VAT = 25  # Sweden's rate in the shop's tax settings
# The merchant's tax override for Sweden on an automated collection of the product type
# "Böcker" (books at 6 %). Shopify's Admin API does not show overrides; the integration is told
# the same mapping by support staff (its option shopify_vat_rates).
TAX_OVERRIDES = {"Böcker": 6}
PRODUCT_TYPES = {25: "Kläder", 6: "Böcker"}


def vat_for(product_type: str, taxable: bool) -> int:
    """The rate Shopify charges in Sweden for a variant, as the shop is set up."""
    return TAX_OVERRIDES.get(product_type, STANDARD_VAT) if taxable else 0


def product_record(product_id: str, title: str, product_type: str, single: bool) -> dict:
    """A product as the catalogue query shows it (variants are stored apart)."""
    return {
        "id": product_id,
        "title": title,
        "status": "ACTIVE",
        "productType": product_type,
        "tags": [],
        "updatedAt": CATALOGUE_UPDATED,
        "hasOnlyDefaultVariant": single,
    }


def money(amount: Decimal) -> dict[str, Any]:
    value = {"amount": str(Decimal(amount).quantize(TWO)), "currencyCode": CURRENCY}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def _round(value: Decimal) -> Decimal:
    return value.quantize(TWO, ROUND_HALF_UP)


def catalogue(tenant: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(products, variants) with inventory levels, in GraphQL shape."""
    products, variants, number = [], [], 0
    for product_id, title, vat, rows in PRODUCTS:
        single = len(rows) == 1 and rows[0][1] == "Default Title"
        product = product_record(
            f"gid://shopify/Product/{product_id}", title, PRODUCT_TYPES[vat], single
        )
        products.append(product)
        for sku, variant_title, price, compare_at, stock in rows:
            number += 1
            levels = [
                {
                    "location": {"id": location_id, "name": name},
                    # on_hand includes what is committed to unfulfilled orders
                    "quantities": {"available": quantity, "on_hand": quantity + 1},
                }
                for (location_id, name), quantity in zip(LOCATIONS, stock, strict=True)
            ]
            variants.append(
                {
                    "id": f"gid://shopify/ProductVariant/{44000 + number}",
                    "sku": sku,
                    "title": variant_title,
                    "price": price,
                    "compareAtPrice": compare_at,
                    "taxable": True,
                    "updatedAt": CATALOGUE_UPDATED,
                    "product": {
                        "id": product["id"],
                        "title": title,
                        "hasOnlyDefaultVariant": single,
                    },
                    "inventoryItem": {
                        "id": f"gid://shopify/InventoryItem/{55000 + number}",
                        "levels": levels,
                    },
                    "vat": vat,
                }
            )
    return products, variants


def order_id(number: int) -> int:
    return 6_100_000 + number


def person(first: str, last: str, line1: str, zip_code: str, city: str, **extra: str) -> dict:
    return {
        "firstName": first,
        "lastName": last,
        "name": f"{first} {last}",
        "company": extra.get("company"),
        "address1": line1,
        "address2": extra.get("line2"),
        "zip": zip_code,
        "city": city,
        "country": "Sweden",
        "countryCodeV2": "SE",
        "phone": extra.get("phone"),
    }


def _tax(after: Decimal, vat: int, included: bool) -> Decimal:
    rate = Decimal(vat) / 100
    return _round(after - after / (1 + rate)) if included else _round(after * rate)


def _tax_lines(tax: Decimal, vat: int) -> list[dict[str, Any]]:
    rate = Decimal(vat) / 100
    return [{"rate": rate, "ratePercentage": Decimal(vat), "title": "Moms", "priceSet": money(tax)}]


def build_order(
    tenant: str,
    number: int,
    created: str,
    updated: str,
    buyer: dict[str, Any],
    lines: list[tuple[str, int]],
    *,
    shipping: bool = True,
    discount_percent: int = 0,
    discount_code: str = "",
    financial: str = "PAID",
    cancelled: bool = False,
    fulfilled: bool = False,
    attributes: dict[str, str] | None = None,
    taxes_included: bool = True,
    variants: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An order as Shopify's GraphQL `Order` answers, with the money computed like Shopify."""
    by_sku = {v["sku"]: v for v in variants or catalogue(tenant)[1]}
    legacy = order_id(number)
    items, total, tax_total, discount_total = [], Decimal("0"), Decimal("0"), Decimal("0")
    for index, (sku, quantity) in enumerate(lines, start=1):
        variant = by_sku[sku]
        unit = Decimal(variant["price"])
        before = unit * quantity
        discount = _round(before * discount_percent / 100)
        after = before - discount
        tax = _tax(after, variant["vat"], taxes_included)
        title = variant["product"]["title"]
        if variant["title"] != "Default Title":
            title = f"{title} - {variant['title']}"
        items.append(
            {
                "id": f"gid://shopify/LineItem/{legacy * 10 + index}",
                "sku": sku,
                "name": title,
                "quantity": quantity,
                "currentQuantity": quantity,
                "originalUnitPriceSet": money(unit),
                "discountAllocations": [{"allocatedAmountSet": money(discount)}]
                if discount
                else [],
                "taxLines": _tax_lines(tax, variant["vat"]),
                "variant": {"id": variant["id"]},
            }
        )
        total += after + (0 if taxes_included else tax)
        tax_total += tax
        discount_total += discount
    shipping_lines = []
    if shipping:
        title, code, price, vat = SHIPPING
        tax = _tax(price, vat, taxes_included)
        shipping_lines.append(
            {
                "title": title,
                "code": code,
                "originalPriceSet": money(price),
                "discountAllocations": [],
                "taxLines": _tax_lines(tax, vat),
            }
        )
        total += price + (0 if taxes_included else tax)
        tax_total += tax
    authorised = financial == "AUTHORIZED"
    transactions = [
        {
            "id": f"gid://shopify/OrderTransaction/{legacy * 10 + 1}",
            "kind": "AUTHORIZATION" if authorised else "SALE",
            "status": "SUCCESS",
            "gateway": "shopify_payments",
            "amountSet": money(total),
            "parentTransaction": None,
            "processedAt": created,
        }
    ]
    return {
        "id": f"gid://shopify/Order/{legacy}",
        "legacyResourceId": str(legacy),
        "name": f"#{number}",
        "createdAt": created,
        "updatedAt": updated,
        "cancelledAt": updated if cancelled else None,
        "closed": fulfilled,
        "displayFinancialStatus": "VOIDED" if cancelled and authorised else financial,
        "displayFulfillmentStatus": "FULFILLED" if fulfilled else "UNFULFILLED",
        "taxesIncluded": taxes_included,
        "currencyCode": CURRENCY,
        "presentmentCurrencyCode": CURRENCY,
        "email": f"{buyer['firstName'].lower()}.{buyer['lastName'].lower()}@example.se".replace(
            "ö", "o"
        )
        .replace("ä", "a")
        .replace("å", "a"),
        "phone": buyer.get("phone"),
        "discountCodes": [discount_code] if discount_code else [],
        "totalPriceSet": money(total),
        "totalTaxSet": money(tax_total),
        "totalDiscountsSet": money(discount_total),
        "capturable": authorised and not cancelled,
        "totalCapturableSet": money(total if authorised and not cancelled else Decimal("0")),
        "customer": {
            "id": f"gid://shopify/Customer/{7_300_000 + number}",
            "legacyResourceId": str(7_300_000 + number),
            "firstName": buyer["firstName"],
            "lastName": buyer["lastName"],
            "email": None,
            "phone": buyer.get("phone"),
        },
        "purchasingEntity": {},
        "customAttributes": [{"key": k, "value": v} for k, v in (attributes or {}).items()],
        "billingAddress": buyer,
        "shippingAddress": copy.deepcopy(buyer),
        "lineItems": {"nodes": items},
        "shippingLines": {"nodes": shipping_lines},
        "transactions": transactions,
        "fulfillmentOrders": {
            "nodes": [
                {
                    "id": f"gid://shopify/FulfillmentOrder/{legacy * 10 + 1}",
                    "status": "CLOSED" if fulfilled or cancelled else "OPEN",
                }
            ]
        },
        "fulfillments": [
            {
                "id": f"gid://shopify/Fulfillment/{legacy * 10 + 1}",
                "status": "SUCCESS",
                "trackingInfo": [{"number": f"00370712345{number}", "company": "PostNord"}],
            }
        ]
        if fulfilled
        else [],
    }


def shopify_orders(tenant: str) -> list[dict[str, Any]]:
    """Twelve orders, updated in this order; #1009 and #1010 in the same second."""
    day = "2026-11-{:02d}T{}Z"
    bergsguiden = person(
        "Lars",
        "Persson",
        "Storgatan 22",
        "831 30",
        "Östersund",
        company="Bergsguiden i Jämtland AB",
    )
    rows: list[tuple[int, str, dict, list[tuple[str, int]], dict[str, Any]]] = [
        (1001, "09:12:00", person("Anna", "Lindqvist", "Storgatan 12", "411 38", "Göteborg"),
         [("FM-2001-M", 1), ("FM-1001", 2)], {"fulfilled": True}),
        (1002, "10:03:00", person("Erik", "Johansson", "Kungsgatan 4", "903 26", "Umeå"),
         [("FM-3001-L", 1)], {}),
        (1003, "11:45:00", bergsguiden, [("FM-1101", 10), ("FM-1001", 10)],
         {"fulfilled": True, "attributes": {
             "Organisationsnummer": "559012-3456", "Momsregistreringsnummer": "SE559012345601"}}),
        (1004, "13:20:00", person("Maja", "Svensson", "Dragarbrunnsgatan 8", "753 20", "Uppsala"),
         [("FM-2001-S", 2)], {"discount_percent": 10, "discount_code": "VINTER10",
                              "fulfilled": True}),
        (1005, "14:02:00", person("Karin", "Nilsson", "Södra Förstadsgatan 30", "211 43", "Malmö"),
         [("FM-9001", 3), ("FM-1101", 1)], {"fulfilled": True}),
        (1006, "15:30:00", person("Oskar", "Berg", "Storgatan 51", "972 31", "Luleå"),
         [("FM-1001", 1)], {"financial": "REFUNDED", "shipping": False}),
        (1007, "16:10:00", person("Sofia", "Ek", "Geologgatan 7", "981 31", "Kiruna"),
         [("FM-3001-M", 1)], {"financial": "AUTHORIZED", "cancelled": True}),
        (1008, "17:45:00", person("Johan", "Lund", "Vasagatan 19", "722 15", "Västerås"),
         [("FM-2001-L", 1)], {"financial": "AUTHORIZED"}),
        (1009, "18:00:00", person("Elin", "Holm", "Strandgatan 3", "621 56", "Visby"),
         [("FM-9001", 1)], {"fulfilled": True}),
        (1010, "18:00:00", person("Nils", "Sandberg", "Åsgatan 14", "791 71", "Falun"),
         [("FM-1101", 2)], {}),
        (1011, "19:25:00", person("Ida", "Forsberg", "Esplanaden 9", "852 30", "Sundsvall"),
         [("FM-1001", 3)], {"financial": "PARTIALLY_REFUNDED", "fulfilled": True}),
        (1012, "20:40:00", person("Peter", "Wikström", "Drottninggatan 33", "652 25", "Karlstad"),
         [("FM-3001-L", 1)], {}),
    ]  # fmt: skip
    _, variants = catalogue(tenant)
    orders = []
    for number, at, buyer, lines, options in rows:
        created = day.format(2, at) if number < 1007 else day.format(3, at)
        updated = day.format(14, at)
        orders.append(
            build_order(
                tenant, number, created, updated, buyer, lines, variants=variants, **options
            )
        )
    return orders


# --- Shopify Payments ----------------------------------------------------------------------------

FEE_PERCENT, FEE_FIXED = Decimal("1.8"), Decimal("1.80")  # the demo's card rate


def _charge_fee(amount: Decimal) -> Decimal:
    return _round(amount * FEE_PERCENT / 100 + FEE_FIXED)


def shopify_payouts(tenant: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Three payouts, each with its balance transactions (REST shape) under "transactions":
    charges, a full and a partial refund, an adjustment, a dispute and a reserve."""
    totals = {
        int(o["name"][1:]): Decimal(o["totalPriceSet"]["shopMoney"]["amount"]) for o in orders
    }

    def charge(n: int) -> tuple[str, int, Decimal, Decimal]:
        return ("charge", n, totals[n], _charge_fee(totals[n]))

    plan: list[tuple[int, str, str, list[tuple[str, int | None, Decimal, Decimal]]]] = [
        (74110001, "2026-11-10", "paid",
         [charge(1001), charge(1002), charge(1003), charge(1004)]),
        (74110002, "2026-11-13", "paid",
         [charge(1005), charge(1006), charge(1009), charge(1010),
          ("refund", 1006, -totals[1006], Decimal("0.00")),
          ("adjustment", None, Decimal("-25.00"), Decimal("0.00")),
          ("dispute", 1002, -totals[1002], Decimal("150.00"))]),
        (74110003, "2026-11-17", "in_transit",
         [charge(1011), charge(1012), ("refund", 1011, Decimal("-149.00"), Decimal("0.00")),
          ("reserve", None, Decimal("-200.00"), Decimal("0.00"))]),
    ]  # fmt: skip
    payouts, next_id = [], 81_000_001
    for payout_id, date, status, entries in plan:
        transactions = []
        for kind, number, amount, fee in entries:
            transactions.append(
                {
                    "id": next_id,
                    "type": kind,
                    "test": False,
                    "payout_id": payout_id,
                    "payout_status": status,
                    "currency": CURRENCY,
                    "amount": str(amount),
                    "fee": str(fee),
                    "net": str(amount - fee),
                    "source_id": next_id + 500_000,
                    "source_type": {"charge": "charge", "refund": "refund"}.get(kind, kind),
                    "source_order_id": order_id(number) if number else None,
                    "source_order_transaction_id": order_id(number) * 10 + 1 if number else None,
                    "processed_at": f"{date}T02:{len(transactions):02d}:00+01:00",
                }
            )
            next_id += 1
        net = sum((Decimal(t["net"]) for t in transactions), Decimal("0"))
        transactions.append(
            {
                "id": next_id,
                "type": "payout",
                "test": False,
                "payout_id": payout_id,
                "payout_status": status,
                "currency": CURRENCY,
                "amount": str(-net),
                "fee": "0.00",
                "net": str(-net),
                "source_id": payout_id,
                "source_type": "payout",
                "source_order_id": None,
                "source_order_transaction_id": None,
                "processed_at": f"{date}T06:00:00+01:00",
            }
        )
        next_id += 1
        payouts.append(
            {
                "id": payout_id,
                "status": status,
                "date": date,
                "currency": CURRENCY,
                "amount": str(net),
                "summary": _summary(transactions),
                "transactions": transactions,
            }
        )
    return payouts


def _summary(transactions: list[dict[str, Any]]) -> dict[str, str]:
    groups = {
        "charge": "charges",
        "refund": "refunds",
        "adjustment": "adjustments",
        "dispute": "adjustments",  # Shopify's summary has no dispute group: it is an adjustment
        "reserve": "reserved_funds",
    }
    summary = {
        f"{group}_{part}_amount": Decimal("0")
        for group in ("adjustments", "charges", "refunds", "reserved_funds", "retried_payouts")
        for part in ("fee", "gross")
    }
    for transaction in transactions:
        group = groups.get(transaction["type"])
        if group:
            summary[f"{group}_gross_amount"] += Decimal(transaction["amount"])
            summary[f"{group}_fee_amount"] += Decimal(transaction["fee"])
    return {key: str(value.quantize(TWO)) for key, value in summary.items()}
