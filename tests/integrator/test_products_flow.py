"""Products go the way the flow says, only when they changed, and each is created once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator.flows.catalogue import Article
from integrator.flows.products import ErpWriter
from integrator.models import Integration, Link
from shops.clients.types import NewShopProduct
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    change_in_visma,
    fast,
    integration,
    items,
    jetshop,
    run,
    shop_client,
    visma_company,
    woo_site,
)

pytestmark = pytest.mark.django_db
SHOP_MASTER = Integration.Flow.SHOP_MASTER


def test_it_creates_the_shop_only_product_in_visma_once_and_a_second_run_sends_nothing(sandbox):
    shop_master = integration(sandbox, flow=SHOP_MASTER)

    first = run(shop_master, "products")

    assert first.status == "succeeded", first.error
    assert items(first, "transferred") == {"KOK-1004": "Article created in Visma."}
    assert first.skipped == 8  # the rest already are in Visma as in the shop
    assert visma_company(sandbox)["create_calls"]["articles"] == {"KOK-1004": 1}
    created = next(a for a in visma_company(sandbox)["articles"] if a["Number"] == "KOK-1004")
    assert created["Name"] == "Brödkniv 22 cm"
    assert Decimal(str(created["NetPrice"])) == Decimal("319.20")  # the shop's ordinary price

    second = run(shop_master, "products")
    assert (second.transferred, second.skipped, second.failed) == (0, 0, 0)


def test_a_product_changed_in_the_shop_is_the_only_one_updated_in_visma(sandbox):
    shop_master = integration(sandbox, flow=SHOP_MASTER)
    run(shop_master, "products")
    client = shop_client(shop_master)
    renamed = NewShopProduct(part_no="KOK-1002", name="Kockkniv 21 cm", vat_rate=Decimal(25))
    client.wait_for_job(client.import_products([renamed]).job_id)

    job = run(shop_master, "products")

    assert items(job) == {"KOK-1002": "Article updated in Visma."}
    assert visma_company(sandbox)["update_calls"]["articles"] == {"KOK-1002": 1}
    article = next(a for a in visma_company(sandbox)["articles"] if a["Number"] == "KOK-1002")
    assert article["Name"] == "Kockkniv 21 cm"
    assert Decimal(str(article["NetPrice"])) == Decimal("639.20")  # the ERP's price is kept


@pytest.mark.parametrize("fault", ["drop", "500"])
def test_a_create_whose_answer_is_lost_or_refused_still_makes_one_article(sandbox, fault):
    shop_master = integration(sandbox, flow=SHOP_MASTER)
    sandbox.fail_next("POST", "/visma/v2/articles", fault)

    job = run(shop_master, "products")

    assert job.status == "succeeded", job.error
    assert sandbox.state()["faults_injected"] == {fault: 1}
    assert visma_company(sandbox)["create_calls"]["articles"] == {"KOK-1004": 1}
    assert not Link.objects.filter(state=Link.State.PENDING).exists()


def test_a_vat_rate_visma_has_no_coding_for_fails_with_the_reason(sandbox):
    shop_master = integration(sandbox, flow=SHOP_MASTER)
    client = shop_client(shop_master)
    odd = NewShopProduct(part_no="KOK-1009", name="Tillbringare", vat_rate=Decimal(7))
    client.wait_for_job(client.import_products([odd]).job_id)

    job = run(shop_master, "products")

    assert "7 % VAT" in items(job, "failed")["KOK-1009"]
    assert "KOK-1009" not in visma_company(sandbox)["create_calls"].get("articles", {})


def test_a_product_without_a_vat_rate_is_never_given_a_guessed_one(sandbox):
    shop_master = integration(sandbox, flow=SHOP_MASTER)
    writer = ErpWriter.__new__(ErpWriter)  # problem() needs no Visma for a missing rate
    article = Article(key="X-1", number="X-1", name="Okänd moms", vat_rate=None)
    assert shop_master and "never guess" in writer.problem(article)


def test_visma_articles_become_jetshop_products_and_only_a_changed_one_is_sent_again(sandbox):
    erp_master = integration(sandbox)

    first = run(erp_master, "products")
    assert first.status == "succeeded", first.error
    assert first.transferred == 8  # every article but the shipping article, FRAKT
    assert "FRAKT" not in items(first)

    assert run(erp_master, "products").transferred == 0
    change_in_visma(sandbox, "norrsken", "MAT-2002", "Lingonsylt 450 g", 6, "45.00")
    third = run(erp_master, "products")

    assert items(third) == {"MAT-2002": "Sent to Jetshop."}
    product = next(p for p in jetshop(sandbox)["products"] if p["PartNo"] == "MAT-2002")
    assert product["Name"] == "Lingonsylt 450 g"
    assert jetshop(sandbox)["writes"]["products_updated"]["MAT-2002"] == 2  # first run, this one


def test_visma_articles_become_woocommerce_products_once_with_their_tax_class(sandbox):
    erp_master = integration(
        sandbox,
        shop="woocommerce",
        tenant="fjallmode",
        woocommerce_tax_classes={"25": "", "6": "reduced-rate"},
    )

    first = run(erp_master, "products")
    second = run(erp_master, "products")

    assert first.status == "succeeded", first.error
    assert first.transferred == 8 and second.transferred == 0
    created = {p["sku"]: p for p in woo_site(sandbox)["products"] if p["sku"].startswith("FM-")}
    assert created["FM-BOK-01"]["tax_class"] == "reduced-rate"
    assert created["FM-JACKA-01"]["name"] == "Fjälljacka dam"
    assert created["FM-JACKA-01"]["regular_price"] == "2499.00"  # Visma's 1999.20 incl. VAT
    calls = sandbox.state()["woocommerce"]["create_calls"]["products"]
    assert all(calls[sku] == 1 for sku in items(first, "transferred"))


def test_a_rate_without_a_woocommerce_tax_class_fails_and_says_which_option_to_set(sandbox):
    erp_master = integration(sandbox, shop="woocommerce", tenant="fjallmode")

    job = run(erp_master, "products")

    failed = items(job, "failed")
    assert set(failed) == {"FM-BOK-01", "FM-BOK-02"}  # the 6 % books
    assert all("woocommerce_tax_classes" in message for message in failed.values())
