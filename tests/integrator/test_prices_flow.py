"""Prices and price lists go from Visma to the shop, changed ones only, through the plugins."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator import services
from integrator.models import Integration
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    change_in_visma,
    fast,
    integration,
    items,
    jetshop,
    price_of,
    run,
    woo_site,
)

pytestmark = pytest.mark.django_db
MARKUP = [
    {"name": "field_mapping", "config": {"rules": [{"rule": "price_markup", "percent": "10"}]}}
]


def test_prices_reach_jetshop_once_and_one_changed_price_is_the_only_one_sent_again(sandbox):
    erp_master = integration(sandbox)

    first = run(erp_master, "prices")
    assert first.status == "succeeded", first.error
    assert first.transferred == 8 and "FRAKT" not in items(first)
    assert run(erp_master, "prices").transferred == 0

    change_in_visma(sandbox, "norrsken", "MAT-2001", "Kaffe mörkrost 500 g", 6, "94.50")
    third = run(erp_master, "prices")

    assert list(items(third, "transferred")) == ["MAT-2001"]
    assert price_of(jetshop(sandbox), "MAT-2001") == Decimal("94.50")
    assert jetshop(sandbox)["writes"]["prices_updated"]["MAT-2001@STANDARD"] == 2


def test_a_plugin_markup_is_applied_before_the_price_is_sent(sandbox):
    erp_master = integration(sandbox, package="800", plugins=MARKUP)

    job = run(erp_master, "prices")

    assert job.status == "succeeded", job.error
    assert price_of(jetshop(sandbox), "KOK-1001") == Decimal("1315.60")  # 1196.00 + 10 %


def test_woocommerce_gets_the_price_incl_vat_of_the_articles_it_sells(sandbox):
    erp_master = integration(sandbox, shop="woocommerce", tenant="fjallmode")
    change_in_visma(sandbox, "fjallmode", "FM-FLEECE-01", "Fleecejacka Sarek", 25, "1199.20")

    first = run(erp_master, "prices")

    assert first.status == "succeeded", first.error
    assert items(first, "transferred") == {"FM-FLEECE-01": "1499.00 incl. VAT"}
    assert "Not in" in items(first, "skipped")["FM-JACKA-01"]  # Visma has it, the shop not
    fleece = next(p for p in woo_site(sandbox)["products"] if p["sku"] == "FM-FLEECE-01")
    assert Decimal(fleece["regular_price"]) == Decimal("1499.00")
    assert run(erp_master, "prices").transferred == 0


def test_price_lists_set_the_ordinary_price_and_say_why_the_campaign_list_is_left(sandbox):
    erp_master = integration(sandbox, package="400")

    job = run(erp_master, "price_lists")

    assert job.status == "succeeded", job.error
    message = items(job, "transferred")["KOK-1001"]
    assert "STANDARD" in message and "KAMPANJ-JUL" in message and "no campaign price" in message
    # The Christmas campaign stays as the merchant made it.
    assert price_of(jetshop(sandbox), "KOK-1001", "KAMPANJ-JUL") == Decimal("956.80")


def test_woocommerce_has_no_price_lists_and_each_item_says_so(sandbox):
    erp_master = integration(sandbox, shop="woocommerce", tenant="fjallmode", package="400")

    job = run(erp_master, "price_lists")

    assert job.status == "succeeded" and job.transferred == 0
    assert all("has no price lists" in m for m in items(job, "skipped").values())


def test_price_lists_are_refused_on_package_200_with_the_reason():
    from tests import factories

    owner = factories.customer(package_code="200")
    refused = factories.integration(
        owner,
        factories.connection(owner, "visma"),
        [factories.connection(owner, "jetshop")],
        flow=Integration.Flow.ERP_MASTER,
    )
    with pytest.raises(services.JobNotAllowed, match="Paket 400"):
        services.job_enqueue(integration=refused, kind="price_lists", trigger="manual")
