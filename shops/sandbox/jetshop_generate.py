"""Realistic Jetshop / Norce orders in volume, for the engine's volume tests and the benchmarks.

`generate_orders(shop_slug, first_id, count, seed, …)` makes `count` orders that look like a
Swedish shop's: Swedish names, streets and real postal codes, private buyers (some guests, some
returning) and a few companies with valid organisation numbers, 25/12/6 % VAT lines from the
shop's catalogue (the same article numbers as its Visma company), discounts, shipping (free over
500 kr), some cancelled and some refunded orders, some on the shop's second channel. The same
seed and starting point give the same orders, byte for byte.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from decimal import Decimal
from typing import Any

from stdnum import luhn
from stdnum.se import orgnr

from shops.sandbox.demo_data import ARTICLES, SHIPPING_ARTICLE
from shops.sandbox.demo_jetshop import CANCELLED, CONFIRMED, CREATED, DELIVERED, freight, norce_item

INVOICED = 5
FREE_SHIPPING_FROM = Decimal("500")

FIRST_NAMES = """Anna Erik Maria Lars Karin Johan Sara Anders Emma Per Elin Mikael Ida Nils Sofia
Olof Linnea Gustav Maja Oskar Astrid Hugo Ebba Axel Saga Björn Ingrid Måns Ylva Åsa""".split()
LAST_NAMES = """Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson
Gustafsson Pettersson Jonsson Lindberg Lindqvist Holm Berg Sandberg Ek Lundgren Åberg Öberg
Sjöberg Wallin Engström Forsberg""".split()
STREETS = """Storgatan Drottninggatan Kungsgatan Skolgatan Kyrkgatan Järnvägsgatan Trädgårdsgatan
Ringvägen Parkvägen Björkvägen Allégatan Södra_Vägen Östra_Storgatan""".split()
PLACES = [
    ("Stockholm", "111 21"),
    ("Göteborg", "411 38"),
    ("Malmö", "211 22"),
    ("Uppsala", "753 21"),
    ("Västerås", "722 12"),
    ("Örebro", "702 22"),
    ("Linköping", "582 22"),
    ("Helsingborg", "252 21"),
    ("Jönköping", "553 21"),
    ("Norrköping", "602 24"),
    ("Lund", "222 22"),
    ("Umeå", "903 26"),
    ("Gävle", "803 20"),
    ("Sundsvall", "852 30"),
    ("Östersund", "831 31"),
    ("Luleå", "972 33"),
    ("Karlstad", "652 24"),
    ("Växjö", "352 30"),
    ("Kiruna", "981 31"),
    ("Visby", "621 55"),
]
COMPANY_WORDS = """Fjäll Norr Sjö Skog Berg Dal Ek Lind Bäck Strand""".split()
COMPANY_KINDS = ("Konsult AB", "Bygg AB", "Design AB", "Café AB", "Handel AB")
PAYMENT_METHODS = ("KlarnaCheckout", "Svea", "Swish", "Card")
# StatusId and how often: most orders wait to be transferred; some are further along.
STATUS_WEIGHTS = [(CONFIRMED, 68), (CREATED, 10), (DELIVERED, 12), (INVOICED, 5), (CANCELLED, 5)]


def _ascii(text: str) -> str:
    return text.lower().translate(str.maketrans("åäöé ", "aaoe-"))


def _organisation_number(rng: random.Random) -> str:
    base = f"5566{rng.randrange(10**5):05d}"
    number = f"{base[:6]}-{base[6:]}{luhn.calc_check_digit(base)}"
    assert orgnr.is_valid(number)
    return number


def _address(rng: random.Random) -> dict[str, Any]:
    city, zip_code = rng.choice(PLACES)
    return {
        "Line1": f"{rng.choice(STREETS).replace('_', ' ')} {rng.randint(1, 80)}",
        "Line2": "",
        "ZipCode": zip_code,
        "City": city,
        "Country": "SE",
    }


def _person(rng: random.Random, code: str) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "CustomerCode": code,
        "FirstName": first,
        "LastName": last,
        "Email": f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@example.se",
        "CellPhone": f"07{rng.randint(0, 9)}-{rng.randint(100, 999)} {rng.randint(10, 99)} "
        f"{rng.randint(10, 99)}",
        "Address": _address(rng),
    }


def _buyer(rng: random.Random, returning: dict[int, dict[str, Any]]) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.12:  # a company
        number = rng.randrange(40)
        if number not in returning:
            name = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS).lower()} "
            code = f"F-{3000 + number}"
            organisation = _organisation_number(rng)
            returning[number] = {
                "Company": {
                    "Code": code,
                    "Name": name + rng.choice(COMPANY_KINDS),
                    "OrganizationNo": organisation,
                    "VatNo": "SE" + organisation.replace("-", "") + "01",
                },
                "Person": _person(rng, code),
            }
        return returning[number]
    if roll < 0.40:  # a guest: no customer code
        return {"Company": None, "Person": _person(rng, "")}
    number = 100 + rng.randrange(400)  # a registered shopper, who may come back
    if number not in returning:
        returning[number] = {"Company": None, "Person": _person(rng, f"C-{5000 + number}")}
    return returning[number]


def _weighted(rng: random.Random, weights: list[tuple[int, int]]) -> int:
    return rng.choices([v for v, _w in weights], weights=[w for _v, w in weights])[0]


def generate_orders(
    shop: str,
    first_id: int,
    count: int,
    *,
    seed: int,
    start: datetime.datetime,
    number_offset: int,
    channels: list[int],
    order: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`count` orders with Ids from `first_id`, created from `start` on; `order` builds one
    (demo_jetshop.norce_order). Returns the orders and a summary of what was made."""
    rng = random.Random(f"{shop}:{seed}:{first_id}")
    catalogue = [row for row in ARTICLES[shop] if row[0] != SHIPPING_ARTICLE]
    returning: dict[int, dict[str, Any]] = {}
    orders, statuses = [], Counter()
    refunded = 0
    created = start
    for order_id in range(first_id, first_id + count):
        created += datetime.timedelta(seconds=rng.randint(20, 900))
        updated = created + datetime.timedelta(seconds=rng.randint(0, 300))
        lines = []
        for number, name, rate, price in rng.sample(
            catalogue, k=min(len(catalogue), rng.randint(1, 4))
        ):
            discount = rng.choice((10, 15, 20)) if rng.random() < 0.2 else 0
            lines.append((number, name, rng.randint(1, 3), price, rate, discount))
        items = [
            norce_item(line, number, name, quantity, price, rate, discount_percent=discount)
            for line, (number, name, quantity, price, rate, discount) in enumerate(lines, 1)
        ]
        net = sum((i["UnitPrice"] * i["Quantity"] for i in items), Decimal("0"))
        if net < FREE_SHIPPING_FROM:
            items.append(freight(len(items) + 1))
        status = _weighted(rng, STATUS_WEIGHTS)
        bill_to = _buyer(rng, returning)
        ship_to = None
        if rng.random() < 0.1:  # a gift, sent to someone else
            ship_to = {"Company": None, "Person": _person(rng, "")}
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        made = order(
            shop,
            order_id,
            str(order_id + number_offset),
            created.strftime(stamp),
            updated.strftime(stamp),
            status,
            bill_to,
            items,
            ship_to,
        )
        if len(channels) > 1 and rng.random() < 0.15:
            made["ApplicationId"] = channels[1]
        total = sum(((i["UnitPrice"] + i["UnitVat"]) * i["Quantity"] for i in items), Decimal("0"))
        method = rng.choice(PAYMENT_METHODS)
        made["Payments"] = [
            {
                "PaymentMethodCode": method,
                "PaymentRef": f"{_ascii(method)}-{shop}-{order_id}",
                "Amount": total,
                "CurrencyCode": "SEK",
            }
        ]
        if status in (DELIVERED, INVOICED) and rng.random() < 0.25:
            # A return: part of the order is paid back (a credit at the PSP).
            back = (total * Decimal(rng.choice(("0.25", "0.5", "1")))).quantize(Decimal("0.01"))
            made["Payments"].append(
                {
                    "PaymentMethodCode": method,
                    "PaymentRef": f"{_ascii(method)}-{shop}-{order_id}-refund",
                    "Amount": -back,
                    "CurrencyCode": "SEK",
                    "PaymentName": "Refund",
                }
            )
            refunded += 1
        statuses[status] += 1
        orders.append(made)
    summary = {
        "created": len(orders),
        "first_id": first_id,
        "last_id": first_id + count - 1,
        "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "cancelled": statuses[CANCELLED],
        "refunded": refunded,
    }
    return orders, summary
