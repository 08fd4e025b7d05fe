"""The Shopify client lists every variant for the products flow and creates products with one
variant, against the Shopify sandbox over real HTTP."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from shops.clients.errors import OutcomeUnknown, ValidationFailed
from shops.clients.registry import client_for
from shops.clients.shopify import ShopifyClient
from shops.clients.types import NewShopProduct
from tests.shops.conftest import CLIENT_TIMEOUT, TIMEOUT_SLEEP
from tests.shops.test_shopify_client import fjallmode_connection, shop_state, shopify_hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(sandbox_url: str) -> ShopifyClient:
    return client_for(fjallmode_connection(sandbox_url))


def test_it_lists_every_variant_with_what_a_vat_mapping_goes_by(client, sandbox):
    listed = {item.sku: item for item in client.listed_items()}

    assert len(listed) == 8
    book = listed["FM-9001"]
    assert book.name == "Sticka fjällmönster (bok)" and book.product_type == "Böcker"
    assert book.vat_rate is None  # taxable: Shopify does not say at which rate
    assert (book.price, book.prices_include_tax, book.active) == (Decimal("249.00"), True, True)
    assert listed["FM-2001-M"].name == "Merinotröja Abisko – M"
    assert listed["FM-2001-M"].product_type == "Kläder"


def test_it_pages_by_cursor_and_waits_for_the_cost_bucket(client, sandbox, monkeypatch):
    monkeypatch.setattr("shops.clients.shopify_products.CATALOGUE_PAGE", 3)
    # Room for one page at a time: the client must wait for the bucket, not be refused.
    shopify_hook(sandbox.root, "throttle", maximum=12, available=12, restore_rate=100)

    listed = client.listed_items()

    pages = [r for r in sandbox.requests("shopify") if r["path"].endswith("graphql.json")]
    assert len({item.sku for item in listed}) == 8
    assert len(pages) == 1 + 3  # the shop's tax setting, then pages of 3, 3 and 2
    assert shop_state(sandbox)["throttled"] == 0


def test_a_product_it_creates_is_listed_with_its_sku_price_and_status(client, sandbox):
    created = client.create_product(
        NewShopProduct(
            part_no="FM-7001",
            name="Halsduk ull",
            vat_rate=Decimal(25),
            price=Decimal("399.00"),
            active=False,
        )
    )

    assert created.sku == "FM-7001" and created.price == Decimal("399.00")
    listed = {item.sku: item for item in client.listed_items()}
    assert listed["FM-7001"].name == "Halsduk ull" and not listed["FM-7001"].active
    assert client.variants_by_sku(["FM-7001"])["FM-7001"].only_variant
    assert shop_state(sandbox)["create_calls"]["products"] == {"FM-7001": 1}


def test_an_invalid_product_is_refused_with_the_field_named(client, sandbox):
    with pytest.raises(ValidationFailed) as refused:
        client.create_product(
            NewShopProduct(part_no="FM-7002", name=" ", vat_rate=Decimal(25), price=Decimal(-1))
        )

    assert refused.value.field == "input.title" and "blank" in refused.value.message
    assert "FM-7002" not in shop_state(sandbox)["create_calls"].get("products", {})


def test_a_create_whose_answer_is_lost_is_outcome_unknown_and_was_carried_out(client, sandbox):
    shopify_hook(sandbox.root, "faults", operation="productSet", faults=["timeout"])
    new = NewShopProduct(part_no="FM-7003", name="Vantar", vat_rate=Decimal(25))

    with pytest.raises(OutcomeUnknown):
        client.create_product(new)

    time.sleep(TIMEOUT_SLEEP - CLIENT_TIMEOUT + 0.1)  # the sandbox finishes the work
    assert "FM-7003" in client.variants_by_sku(["FM-7003"])


def test_renaming_a_product_changes_its_title_and_status(client, sandbox):
    variant = client.variants_by_sku(["FM-1001"])["FM-1001"]

    client.update_product(
        variant.product_id,
        NewShopProduct(part_no="FM-1001", name="Ullsockor", vat_rate=Decimal(25)),
    )

    assert client.variants_by_sku(["FM-1001"])["FM-1001"].title == "Ullsockor"
