"""The Jetshop / Norce client against the Jetshop sandbox, over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shops.clients.errors import AuthExpired
from shops.clients.jetshop import JetshopClient
from shops.clients.registry import client_for
from shops.models import Connection
from shops.sandbox.demo_data import FJALLBOK, NORRSKEN

pytestmark = pytest.mark.django_db


def test_it_reads_every_order_oldest_first_with_ties_broken_by_id(jetshop_connection, sandbox):
    client = client_for(jetshop_connection)

    pages = list(client.iter_orders("", page_size=3))

    numbers = [order.order_number for page in pages for order in page.orders]
    assert numbers == [f"1001{n:02d}" for n in range(1, 12)]
    assert [len(page.orders) for page in pages] == [3, 3, 3, 2]
    # 100109 and 100110 were updated in the same second: the cursor between them holds the Id.
    assert pages[2].next_cursor == "2026-11-14T12:00:00Z|1009"


def test_it_continues_from_the_cursor_and_sees_only_new_or_changed_orders(
    jetshop_connection, sandbox
):
    client = JetshopClient(jetshop_connection)
    cursor = [page for page in client.iter_orders()][-1].next_cursor
    nothing_new = client.orders_page(cursor)
    assert nothing_new.orders == [] and nothing_new.next_cursor == cursor

    sandbox.add_orders(
        NORRSKEN,
        {"Id": 1008, "StatusId": 2},  # the merchant confirms an order from before the cursor
        {
            "OrderNo": "100120",
            "Items": [{"PartNo": "MAT-2001", "Quantity": 3, "UnitPrice": "89.00", "VatRate": 6}],
        },
    )
    page = client.orders_page(cursor)

    assert [(o.order_number, o.status) for o in page.orders] == [
        ("100108", "Confirmed"),
        ("100120", "Confirmed"),
    ]
    assert client.orders_page(page.next_cursor).orders == []


def test_it_maps_a_company_order_with_its_vat_rates_and_shipping(jetshop_connection, sandbox):
    order = next(
        o
        for page in JetshopClient(jetshop_connection).iter_orders()
        for o in page.orders
        if o.order_number == "100103"
    )

    assert order.customer.is_company
    assert order.customer.name == "Bergström Konsult AB"
    assert order.customer.organisation_number == "556804-3219"
    assert order.customer.billing.city == "Sundsvall"
    assert order.channel == "1001" and order.currency == "SEK" and order.status == "Confirmed"
    assert [(r.article_number, r.vat_rate, r.is_shipping) for r in order.rows] == [
        ("CAT-4001", Decimal("12"), False),
        ("MAT-2001", Decimal("6"), False),
        ("FRAKT", Decimal("25"), True),
    ]
    # 2 × 890.00 × 1.12 + 5 × 89.00 × 1.06 + 39.20 × 1.25
    assert order.total_incl_vat == Decimal("2514.30")
    assert order.created_at.tzinfo is not None


def test_it_turns_a_norce_discount_into_a_percentage_of_the_original_price(
    jetshop_connection, sandbox
):
    order = next(
        o
        for page in JetshopClient(jetshop_connection).iter_orders()
        for o in page.orders
        if o.order_number == "100104"
    )

    jam = order.rows[0]
    assert (jam.unit_price, jam.discount_percent, jam.quantity) == (
        Decimal("45.00"),
        Decimal("10.00"),
        3,
    )
    assert order.customer.shipping == order.customer.billing


def test_it_asks_for_a_token_once_and_keeps_it_on_the_connection(jetshop_connection, sandbox):
    client = JetshopClient(jetshop_connection)
    client.orders_page("", 2)
    JetshopClient(Connection.objects.get(pk=jetshop_connection.pk)).orders_page("", 2)

    assert sandbox.state()["jetshop"]["shops"][NORRSKEN]["token_requests"] == 1
    stored = Connection.objects.get(pk=jetshop_connection.pk).credentials
    assert stored["access_token"] and stored["expires_at"] > 0
    assert client.last_exchange.request_headers["application-id"] == "1001"
    assert client.last_exchange.request_headers["Authorization"] == "[redacted]"


def test_one_shops_credentials_do_not_open_another_shop(jetshop_connection, sandbox):
    jetshop_connection.base_url = sandbox.url("jetshop", FJALLBOK)
    jetshop_connection.update_credentials(token_url="")

    with pytest.raises(AuthExpired):
        JetshopClient(jetshop_connection).orders_page()


def test_a_cursor_from_elsewhere_is_refused(jetshop_connection):
    with pytest.raises(ValueError):
        JetshopClient(jetshop_connection).orders_page("next-page-please")
