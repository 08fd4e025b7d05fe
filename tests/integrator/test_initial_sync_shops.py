"""The initial product sync from a Shopify or WooCommerce shop into Visma: the dry run lists what
would be created, what matches and what conflicts, and the real run creates each article once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator.models import Link
from shops.clients.types import NewShopProduct
from shops.sandbox.demo_data import FJALLMODE_SHOPS
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    fast,
    items,
    run,
    shop_client,
    visma_company,
)
from tests.integrator.test_products_from_shopify_woocommerce import shop_integration

pytestmark = pytest.mark.django_db
TO_ERP = {"direction": "shop_to_erp"}
# No default: a product type nobody mapped has no rate.
SHOPIFY_VAT = {"product_types": {"Kläder": "25", "Böcker": "6"}}


def _shopify_with_news_and_conflicts(sandbox):
    """Fjällmode's Shopify shop, whose Visma company has its eight articles, plus a new scarf, a
    second product under an existing SKU, and a gift card of a product type nobody mapped."""
    integration = shop_integration(
        sandbox, "shopify", visma=FJALLMODE_SHOPS, shopify_vat_rates=SHOPIFY_VAT
    )
    client = shop_client(integration)
    for sku, name, kind in (
        ("FM-7001", "Halsduk ull", "Kläder"),
        ("FM-1101", "Mössa Kebne (kopia)", "Kläder"),
        ("FM-PRESENT", "Presentkort", "Presentkort"),
    ):
        new = NewShopProduct(sku, name, Decimal(25), price=Decimal("100.00"), product_type=kind)
        client.create_product(new)
    return integration


def test_the_dry_run_from_shopify_lists_creates_matches_and_conflicts(sandbox):
    integration = _shopify_with_news_and_conflicts(sandbox)

    job = run(integration, "initial_products", dry_run=True, **TO_ERP)

    skipped = items(job, "skipped")
    assert skipped["FM-7001"] == "would create in Visma"
    assert skipped["FM-9001"] == skipped["FM-2001-M"] == "matches"
    conflicts = items(job, "failed")
    assert set(conflicts) == {"FM-1101", "FM-PRESENT"}
    assert "appears 2 times on this side" in conflicts["FM-1101"]
    assert 'product type "Presentkort"' in conflicts["FM-PRESENT"]
    assert visma_company(sandbox, FJALLMODE_SHOPS)["create_calls"] == {}
    assert not Link.objects.exists()


def test_the_real_run_from_shopify_creates_the_new_article_once_and_links_the_matches(sandbox):
    integration = _shopify_with_news_and_conflicts(sandbox)
    sandbox.fail_next("POST", "/visma/v2/articles", "drop")

    job = run(integration, "initial_products", **TO_ERP)

    calls = visma_company(sandbox, FJALLMODE_SHOPS)["create_calls"]["articles"]
    assert calls == {"FM-7001": 1} and sandbox.state()["faults_injected"] == {"drop": 1}
    created = next(
        a for a in visma_company(sandbox, FJALLMODE_SHOPS)["articles"] if a["Number"] == "FM-7001"
    )
    assert Decimal(str(created["NetPrice"])) == Decimal("80.00")  # 100.00 incl. 25 % VAT
    assert Link.objects.filter(state=Link.State.DONE).count() == 1 + 7  # FM-1101 twice: left
    assert set(items(job, "failed")) == {"FM-1101", "FM-PRESENT"}


def test_the_dry_run_from_woocommerce_lists_creates_matches_and_conflicts(sandbox):
    integration = shop_integration(sandbox, "woocommerce", visma=FJALLMODE_SHOPS)
    shop_client(integration).batch_products(
        create=[
            {"sku": "FM-NY-01", "name": "Termos", "regular_price": "349.00"},
            {"sku": "FM-PRESENT", "name": "Presentkort", "tax_class": "zero-rate"},
            {"sku": "", "name": "Utan artikelnummer", "regular_price": "10.00"},
        ]
    )

    job = run(integration, "initial_products", dry_run=True, **TO_ERP)

    skipped = items(job, "skipped")
    assert skipped["FM-NY-01"] == "would create in Visma"
    assert skipped["FM-BOK-001"] == skipped["FM-KANGA-42"] == "matches"
    conflicts = items(job, "failed")
    assert len(conflicts) == 2 and 'tax class "zero-rate"' in conflicts["FM-PRESENT"]
    assert any("no article number" in message for message in conflicts.values())
    assert job.progress_total == job.progress_done == 12 + 3
