"""The WooCommerce client lists the shop's catalogue with each item's VAT rate for Sweden, taken
from the shop's own tax rates, against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import translation

from shops.clients.registry import client_for
from shops.clients.woocommerce import WooCommerceClient
from shops.clients.woocommerce_products import rates_by_class
from shops.models import Connection
from shops.sandbox.woocommerce import WooCommerceSandbox
from shops.sandbox.woocommerce_data import FJALLMODE
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english() -> Iterator[None]:
    # The messages are read in English here; their Swedish is in locale/sv.
    with translation.override("en"):
        yield


@pytest.fixture
def client(sandbox_url: str) -> WooCommerceClient:
    base_url, credentials = WooCommerceSandbox.demo_connection(FJALLMODE, sandbox_url)
    owner = factories.customer()
    return client_for(
        factories.connection(
            owner, Connection.Platform.WOOCOMMERCE, base_url, credentials=credentials
        )
    )


def test_it_lists_simple_products_and_variations_with_their_rates_and_prices(client, sandbox):
    listed = {item.sku: item for item in client.listed_items()}

    # Four simple products and eight variations; the variable products themselves are not sold.
    assert len(listed) == 12 and "FM-ULL" not in listed and "FM-ULL-M" in listed
    book = listed["FM-BOK-001"]
    assert (book.vat_rate, book.price, book.prices_include_tax) == (
        Decimal("6"),
        Decimal("249.00"),
        True,
    )
    assert listed["FM-FLEECE-01"].vat_rate == Decimal("25")
    assert listed["FM-FLEECE-01"].price == Decimal("1299.00")  # the ordinary, not the sale price
    variation = listed["FM-KANGA-42"]
    assert variation.name == "Vandringskängor Tarfala - 42" and variation.vat_rate == Decimal(25)
    assert variation.product_id == "120" and variation.active


def test_it_pages_through_the_catalogue(client, sandbox, monkeypatch):
    monkeypatch.setattr("shops.clients.woocommerce.MAX_PER_PAGE", 2)

    listed = client.listed_items()

    product_pages = [
        r for r in sandbox.requests("woocommerce") if r["path"].endswith("/wc/v3/products")
    ]
    assert len(listed) == 12 and len(product_pages) == 4  # 7 products, 2 a page


def test_a_class_without_a_rate_for_sweden_gives_no_rate_and_says_why(client, sandbox):
    client.batch_products(
        create=[
            {
                "sku": "FM-PRESENT",
                "name": "Presentkort",
                "regular_price": "500.00",
                "tax_class": "zero-rate",
            },
            {"sku": "FM-GRATIS", "name": "Katalog", "regular_price": "0.00", "tax_status": "none"},
        ]
    )

    listed = {item.sku: item for item in client.listed_items()}

    gift = listed["FM-PRESENT"]
    assert gift.vat_rate is None
    assert 'no tax rate for Sweden in the tax class "zero-rate"' in gift.vat_problem
    assert listed["FM-GRATIS"].vat_rate == Decimal(0)  # not taxable: the shop charges no VAT


def test_the_tax_rates_are_served_as_woocommerce_lists_them(client, sandbox):
    rates = client.request("GET", "/wp-json/wc/v3/taxes", params={"class": "reduced-rate"})
    assert [(r["class"], r["rate"], r["country"]) for r in rates] == [
        ("reduced-rate", "6.0000", "SE")
    ]


def test_a_rate_for_sweden_wins_over_one_for_all_countries_and_two_are_never_picked_from():
    rates = rates_by_class(
        [
            {"class": "standard", "country": "", "rate": "20.0000"},
            {"class": "standard", "country": "SE", "rate": "25.0000"},
            {"class": "standard", "country": "NO", "rate": "25.0000"},
            {"class": "hotell", "country": "SE", "rate": "12.0000", "postcode": "111*"},
            {"class": "hotell", "country": "SE", "rate": "25.0000"},
        ]
    )

    assert rates[""] == Decimal("25")
    assert "several rates for Sweden" in str(rates["hotell"]) and "12 %, 25 %" in rates["hotell"]
