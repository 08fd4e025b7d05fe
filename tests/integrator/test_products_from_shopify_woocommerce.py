"""Products from Shopify and WooCommerce go into Visma (flows 1 and 3) with the right VAT rate and
the price excl. VAT, each article once; an item whose rate cannot be known fails alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from integrator.models import Integration, Link
from shops.sandbox.demo_data import FJALLMODE_SHOPS, demo_connection_any
from tests import factories
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    fast,
    items,
    run,
    shop_client,
    visma_company,
)

pytestmark = pytest.mark.django_db
SHOP_MASTER = Integration.Flow.SHOP_MASTER
# What support staff copy from the Shopify shop's tax settings: 25 %, books (an automated
# collection by product type with an override for Sweden) at 6 %.
SHOPIFY_VAT = {"default": "25", "product_types": {"Böcker": "6"}}


def shop_integration(
    sandbox: Any,
    shop: str,
    *,
    visma: str = "fjallmode",
    flow: str = SHOP_MASTER,
    **options: Any,
) -> Integration:
    """Fjällmode's Shopify or WooCommerce shop and a Visma company of its (by default the plain
    one, which has none of the shop's articles yet)."""
    owner = factories.customer(package_code="200")
    shop_url, shop_credentials = demo_connection_any(shop, "fjallmode", sandbox.root)
    erp_url, erp_credentials = demo_connection_any("visma", visma, sandbox.root)
    shop_connection = factories.connection(owner, shop, shop_url, credentials=shop_credentials)
    erp = factories.connection(owner, "visma", erp_url, credentials=erp_credentials)
    return factories.integration(owner, erp, [shop_connection], flow=flow, options=options)


def article(sandbox: Any, number: str, company: str = "fjallmode") -> dict[str, Any]:
    return next(a for a in visma_company(sandbox, company)["articles"] if a["Number"] == number)


def vat_rate_of(found: dict[str, Any]) -> Decimal:
    """The rate of the account coding Visma gave the article ("Försäljning varor 6 % moms")."""
    return Decimal(found["CodingName"].split(" % ")[0].rsplit(" ", 1)[-1])


def created(sandbox: Any, company: str = "fjallmode") -> dict[str, int]:
    return visma_company(sandbox, company)["create_calls"].get("articles", {})


def test_woocommerce_products_arrive_in_visma_with_their_rate_and_price_excl_vat(sandbox):
    shop_master = shop_integration(sandbox, "woocommerce")
    shop_client(shop_master).batch_products(
        create=[
            {
                "sku": "FM-PRESENT",
                "name": "Presentkort",
                "regular_price": "500.00",
                "tax_class": "zero-rate",
            },
        ]
    )

    first = run(shop_master, "products")

    assert first.status == "partial", first.error  # one item failed, the rest went through
    assert first.transferred == 12  # four simple products, eight variations
    book = article(sandbox, "FM-BOK-001")
    assert vat_rate_of(book) == Decimal(6)
    assert Decimal(str(book["NetPrice"])) == Decimal("234.91")  # 249.00 incl. 6 % VAT
    boot = article(sandbox, "FM-KANGA-42")
    assert boot["Name"] == "Vandringskängor Tarfala - 42" and vat_rate_of(boot) == 25
    assert Decimal(str(boot["NetPrice"])) == Decimal("1596.00")  # 1995.00 incl. 25 % VAT
    # The gift card's class has no rate for Sweden: it fails alone, and says why.
    assert set(items(first, "failed")) == {"FM-PRESENT"}
    assert 'tax class "zero-rate"' in items(first, "failed")["FM-PRESENT"]
    assert "FM-PRESENT" not in created(sandbox)

    second = run(shop_master, "products")

    assert (second.transferred, second.failed) == (0, 1)  # only the gift card, again
    assert all(n == 1 for n in created(sandbox).values())


def test_shopify_products_arrive_in_visma_at_the_rate_the_mapping_gives(sandbox):
    shop_master = shop_integration(sandbox, "shopify", shopify_vat_rates=SHOPIFY_VAT)

    first = run(shop_master, "products")
    second = run(shop_master, "products")

    assert first.status == "succeeded", first.error
    assert (first.transferred, first.failed) == (8, 0)
    book = article(sandbox, "FM-9001")
    assert vat_rate_of(book) == Decimal(6)
    assert Decimal(str(book["NetPrice"])) == Decimal("234.91")
    sweater = article(sandbox, "FM-2001-M")
    assert sweater["Name"] == "Merinotröja Abisko – M" and vat_rate_of(sweater) == 25
    assert Decimal(str(sweater["NetPrice"])) == Decimal("719.20")  # 899.00 incl. 25 % VAT
    assert (second.transferred, second.skipped, second.failed) == (0, 0, 0)
    assert set(created(sandbox).values()) == {1}


def test_a_shopify_product_whose_rate_nobody_mapped_fails_alone_with_the_reason(sandbox):
    only_books = {"product_types": {"Böcker": "6"}}  # no default: clothes are not covered
    shop_master = shop_integration(sandbox, "shopify", shopify_vat_rates=only_books)

    job = run(shop_master, "products")

    assert set(items(job, "transferred")) == {"FM-9001"}
    failed = items(job, "failed")
    assert len(failed) == 7
    assert all('product type "Kläder"' in m and "never guess" in m for m in failed.values())
    assert set(created(sandbox)) == {"FM-9001"}


@pytest.mark.parametrize("shop", ["shopify", "woocommerce"])
def test_an_article_visma_created_but_whose_answer_was_lost_is_created_once(sandbox, shop):
    shop_master = shop_integration(sandbox, shop, shopify_vat_rates=SHOPIFY_VAT)
    sandbox.fail_next("POST", "/visma/v2/articles", "drop")

    job = run(shop_master, "products")

    assert job.status == "succeeded", job.error
    assert sandbox.state()["faults_injected"] == {"drop": 1}
    calls = created(sandbox)
    # The lost one is found by its number on the retry (and counted as already there).
    assert len(calls) == {"shopify": 8, "woocommerce": 12}[shop] and set(calls.values()) == {1}
    assert job.transferred + job.skipped == len(calls) and job.failed == 0
    assert not Link.objects.filter(state=Link.State.PENDING).exists()


def test_products_already_in_visma_are_matched_not_created(sandbox):
    shop_master = shop_integration(
        sandbox, "shopify", visma=FJALLMODE_SHOPS, shopify_vat_rates=SHOPIFY_VAT
    )

    job = run(shop_master, "products")

    assert (
        job.failed == 0
        and "articles" not in visma_company(sandbox, FJALLMODE_SHOPS)["create_calls"]
    )
    # The shop is master of the name: "Merinotröja Abisko M" becomes the shop's spelling.
    assert article(sandbox, "FM-2001-M", FJALLMODE_SHOPS)["Name"] == "Merinotröja Abisko – M"
    assert article(sandbox, "FM-9001", FJALLMODE_SHOPS)["Name"] == "Sticka fjällmönster (bok)"


@pytest.mark.parametrize("extra", [0, 40])
def test_the_queries_of_a_run_that_finds_nothing_new_stay_flat_as_the_catalogue_grows(
    sandbox, extra, django_assert_max_num_queries
):
    shop_master = shop_integration(sandbox, "woocommerce")
    more = [
        {"sku": f"FM-EXTRA-{n}", "name": f"Vara {n}", "regular_price": "100.00"}
        for n in range(extra)
    ]
    shop_client(shop_master).batch_products(create=more)
    first = run(shop_master, "products")
    assert first.transferred == 12 + extra

    # The cursor leaves out what did not change before any per-item work is done.
    with django_assert_max_num_queries(25):
        again = run(shop_master, "products")
    assert again.transferred == again.skipped == again.failed == 0
