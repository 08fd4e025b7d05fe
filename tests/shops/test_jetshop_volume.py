"""Volume on request: the Jetshop sandbox generates realistic orders, the same ones for the same
seed, and polling them all stays quick."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from stdnum.se import orgnr

from shops.clients.jetshop import JetshopClient
from shops.sandbox.demo_data import ARTICLES, NORRSKEN

pytestmark = pytest.mark.django_db


def generate(sandbox, count: int, seed: int = 7) -> dict:
    response = requests.post(
        f"{sandbox.root}/_sandbox/jetshop/generate",
        json={"shop": NORRSKEN, "orders": count, "seed": seed},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def test_a_thousand_orders_look_like_a_swedish_shops_and_are_polled_quickly(
    jetshop_connection, sandbox
):
    summary = generate(sandbox, 1000)
    client = JetshopClient(jetshop_connection)
    started = time.monotonic()

    orders = [o for page in client.iter_orders("", page_size=100) for o in page.orders]

    assert time.monotonic() - started < 5
    assert len(orders) == 1011 and len({o.order_number for o in orders}) == 1011
    assert summary["created"] == 1000 and summary["cancelled"] > 10 and summary["refunded"] > 5
    generated = orders[11:]
    known = {number for number, *_rest in ARTICLES[NORRSKEN]}
    rows = [row for order in generated for row in order.rows]
    assert {row.vat_rate for row in rows} == {Decimal(25), Decimal(12), Decimal(6)}
    assert {row.article_number for row in rows} <= known
    assert any(row.discount_percent for row in rows)
    assert {o.status for o in generated} >= {"Confirmed", "Created", "Delivered", "Cancelled"}
    assert {o.channel for o in generated} == {"1001", "1002"}
    companies = [o.customer for o in generated if o.customer.is_company]
    assert companies and all(orgnr.is_valid(c.organisation_number) for c in companies)
    assert all(len(o.customer.billing.postal_code) == 6 for o in generated)
    # Shipping is free from 500 kr excl. VAT, and charged below it.
    for order in generated[:100]:
        goods = sum(
            (
                r.quantity * r.unit_price * (1 - r.discount_percent / 100)
                for r in order.rows
                if not r.is_shipping
            ),
            Decimal("0"),
        )
        assert any(r.is_shipping for r in order.rows) == (goods < 500), order.order_number


def test_the_same_seed_gives_the_same_orders(sandbox):
    generate(sandbox, 50, seed=3)
    first = sandbox.state()["jetshop"]["shops"][NORRSKEN]["orders"]
    sandbox.reset()
    generate(sandbox, 50, seed=3)
    again = sandbox.state()["jetshop"]["shops"][NORRSKEN]["orders"]
    sandbox.reset()
    generate(sandbox, 50, seed=4)
    other = sandbox.state()["jetshop"]["shops"][NORRSKEN]["orders"]

    assert first == again and first != other


def test_an_order_changed_in_the_middle_of_the_volume_is_seen_again(jetshop_connection, sandbox):
    generate(sandbox, 300)
    client = JetshopClient(jetshop_connection)
    cursor = [page for page in client.iter_orders("", page_size=100)][-1].next_cursor

    sandbox.add_orders(NORRSKEN, {"Id": 1100, "StatusId": 6})

    [changed] = [o for page in client.iter_orders(cursor) for o in page.orders]
    assert (changed.shop_order_id, changed.status) == ("1100", "Cancelled")
