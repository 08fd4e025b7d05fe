"""Visma articles become Shopify products (flow 2 and the initial sync ERP → shop): one product
per SKU, at the price the shop shows, with the product type that makes Shopify charge the
article's rate; the SKU is searched before every create."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from integrator.models import Integration
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    change_in_visma,
    fast,
    items,
    run,
)
from tests.integrator.test_products_from_shopify_woocommerce import SHOPIFY_VAT, shop_integration

pytestmark = pytest.mark.django_db
ERP_MASTER = Integration.Flow.ERP_MASTER
# Visma's "fjallmode" company: six clothes at 25 %, two books at 6 % (and FRAKT, not a product).
VISMA_ARTICLES = {
    "FM-JACKA-01",
    "FM-JACKA-02",
    "FM-TROJA-01",
    "FM-BYXA-01",
    "FM-MOSSA-01",
    "FM-SOCKA-01",
    "FM-BOK-01",
    "FM-BOK-02",
}


def shopify(sandbox: Any) -> dict[str, Any]:
    return sandbox.state()["shopify"]["shops"]["fjallmode"]


def products_by_sku(sandbox: Any) -> dict[str, list[dict[str, Any]]]:
    """Every product in the shop under each SKU its variants carry."""
    state = shopify(sandbox)
    products = {p["id"]: p for p in state["products"]}
    found: dict[str, list[dict[str, Any]]] = {}
    for variant in state["variants"]:
        found.setdefault(variant["sku"], []).append(
            {**products[variant["product"]["id"]], "price": variant["price"]}
        )
    return found


def operations(sandbox: Any, name: str) -> int:
    sent = [r.get("body") or {} for r in sandbox.requests("shopify")]
    return sum(1 for body in sent if isinstance(body, dict) and body.get("operationName") == name)


def lose_next_product_create(sandbox: Any) -> None:
    """The next productSet is carried out after the client gave up waiting for it."""
    body = {"shop": "fjallmode", "operation": "productSet", "faults": ["timeout"]}
    requests.post(f"{sandbox.root}/_sandbox/shopify/faults", json=body, timeout=5)


def test_visma_articles_become_one_shopify_product_each_and_a_second_run_sends_nothing(sandbox):
    erp_master = shop_integration(
        sandbox, "shopify", flow=ERP_MASTER, shopify_vat_rates=SHOPIFY_VAT
    )

    first = run(erp_master, "products")
    second = run(erp_master, "products")

    assert first.status == "succeeded", first.error
    assert set(items(first, "transferred")) == VISMA_ARTICLES
    assert second.transferred == 0
    shop = products_by_sku(sandbox)
    assert all(len(shop[sku]) == 1 for sku in VISMA_ARTICLES)
    jacket = shop["FM-JACKA-01"][0]
    assert jacket["title"] == "Fjälljacka dam" and jacket["status"] == "ACTIVE"
    assert Decimal(jacket["price"]) == Decimal("2499.00")  # 1999.20 + 25 %: the shop shows VAT
    book = shop["FM-BOK-01"][0]
    assert book["productType"] == "Böcker"  # the type the shop's 6 % override goes by
    assert Decimal(book["price"]) == Decimal("250.00")  # 235.85 + 6 %
    assert shopify(sandbox)["create_calls"]["products"] == {sku: 1 for sku in VISMA_ARTICLES}


def test_a_create_whose_answer_was_lost_is_found_by_its_sku_not_made_twice(sandbox):
    erp_master = shop_integration(
        sandbox, "shopify", flow=ERP_MASTER, shopify_vat_rates=SHOPIFY_VAT
    )
    lose_next_product_create(sandbox)

    job = run(erp_master, "products")

    assert job.status == "succeeded", job.error
    assert set(items(job, "transferred")) == VISMA_ARTICLES
    assert shopify(sandbox)["create_calls"]["products"] == {sku: 1 for sku in VISMA_ARTICLES}
    assert all(len(products_by_sku(sandbox)[sku]) == 1 for sku in VISMA_ARTICLES)
    # Eight creates were sent, one answer was lost, and its SKU was searched for again.
    assert operations(sandbox, "IntegratorCreateProduct") == 8
    assert operations(sandbox, "IntegratorVariants") == 2


def test_a_renamed_article_renames_its_product_and_creates_nothing(sandbox):
    erp_master = shop_integration(
        sandbox, "shopify", flow=ERP_MASTER, shopify_vat_rates=SHOPIFY_VAT
    )
    run(erp_master, "products")
    change_in_visma(sandbox, "fjallmode", "FM-MOSSA-01", "Mössa ull, grå", 25, "239.20")

    job = run(erp_master, "products")

    assert set(items(job)) == {"FM-MOSSA-01"}
    assert [p["title"] for p in products_by_sku(sandbox)["FM-MOSSA-01"]] == ["Mössa ull, grå"]
    assert shopify(sandbox)["create_calls"]["products"]["FM-MOSSA-01"] == 1


def test_a_rate_no_product_type_is_mapped_to_fails_alone_and_names_the_option(sandbox):
    erp_master = shop_integration(
        sandbox, "shopify", flow=ERP_MASTER, shopify_vat_rates={"default": "25"}
    )

    job = run(erp_master, "products")

    failed = items(job, "failed")
    assert set(failed) == {"FM-BOK-01", "FM-BOK-02"}
    assert all("6 % VAT" in m and "shopify_vat_rates" in m for m in failed.values())
    assert len(items(job, "transferred")) == 6
    assert "FM-BOK-01" not in shopify(sandbox)["create_calls"]["products"]


def test_the_initial_sync_to_shopify_creates_once_and_links_what_the_shop_has(sandbox):
    erp_master = shop_integration(
        sandbox, "shopify", flow=ERP_MASTER, shopify_vat_rates=SHOPIFY_VAT
    )
    # The shop sells the merchant's socks under the number Visma also has.
    change_in_visma(sandbox, "fjallmode", "FM-1001", "Ullsockor Tarfala", 25, "119.20")
    lose_next_product_create(sandbox)

    dry = run(erp_master, "initial_products", direction="erp_to_shop", dry_run=True)
    real = run(erp_master, "initial_products", direction="erp_to_shop")

    assert items(dry, "skipped")["FM-1001"] == "matches"
    would_create = {k for k, m in items(dry, "skipped").items() if m.startswith("would create")}
    assert would_create == VISMA_ARTICLES
    assert set(items(real, "transferred")) == would_create
    assert items(real, "skipped")["FM-1001"] == "matches; linked"
    assert shopify(sandbox)["create_calls"]["products"] == {sku: 1 for sku in VISMA_ARTICLES}
