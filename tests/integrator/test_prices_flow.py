"""Prices and price lists go from Visma to the shop, changed ones only, through the plugins."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from integrator import services
from integrator.models import Integration
from shops.sandbox.demo_data import demo_connection_any
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    change_in_visma,
    fast,
    integration,
    items,
    jetshop,
    price_of,
    run,
    shop_client,
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
    assert "STANDARD" in message and "KAMPANJ-JUL" in message
    assert "no Visma campaign price list is configured" in message
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


def _campaign_row(
    sandbox, number: str, price_list: str = "KAMPANJ-JUL", tenant: str = "norrsken"
) -> tuple[Decimal, Decimal | None]:
    """(price, "was" price) of the article in a Jetshop campaign list."""
    row = next(
        p
        for p in jetshop(sandbox, tenant)["prices"]
        if p["PartNo"] == number and p["PriceListCode"] == price_list
    )
    was = row["PriceCatalog"]
    return Decimal(str(row["PriceSale"])), None if was is None else Decimal(str(was))


def _set_visma_list_prices(sandbox, tenant: str, name: str, prices: dict) -> None:
    """The merchant changes a Visma sales price list (None takes the article off it)."""
    body = {
        "company": tenant,
        "list": name,
        "prices": [{"Number": n, "NetPrice": p} for n, p in prices.items()],
    }
    requests.post(
        f"{sandbox.root}/_sandbox/visma/salesprices", json=body, timeout=5
    ).raise_for_status()


def test_the_visma_campaign_price_reaches_the_jetshop_campaign_list_once(sandbox):
    erp_master = integration(sandbox, campaign_price_list="Kampanj")

    first = run(erp_master, "prices")

    assert first.status == "succeeded", first.error
    assert _campaign_row(sandbox, "KOK-1001") == (Decimal("999.20"), Decimal("1196.00"))
    assert price_of(jetshop(sandbox), "KOK-1001") == Decimal("1196.00")  # ordinary unchanged
    assert (
        "Campaign price 999.20 (was 1196.00) excl. VAT in KAMPANJ-JUL" in items(first)["KOK-1001"]
    )
    # Not on Visma's campaign list: the shop's campaign list shows the ordinary price.
    assert _campaign_row(sandbox, "KOK-1002") == (Decimal("639.20"), None)
    assert run(erp_master, "prices").transferred == 0

    _set_visma_list_prices(sandbox, "norrsken", "Kampanj", {"KOK-1001": "949.00", "MAT-2001": None})
    third = run(erp_master, "prices")

    assert set(items(third, "transferred")) == {"KOK-1001", "MAT-2001"}
    assert _campaign_row(sandbox, "KOK-1001") == (Decimal("949.00"), Decimal("1196.00"))
    # Taken off the campaign in Visma: the ordinary price, no "was" price.
    assert _campaign_row(sandbox, "MAT-2001") == (Decimal("89.00"), None)


def test_a_company_that_is_not_pro_gets_ordinary_prices_and_the_reason(sandbox):
    erp_master = integration(sandbox, tenant="fjallbok", campaign_price_list="Kampanj")

    job = run(erp_master, "prices")

    assert job.status == "partial"
    reason = items(job, "failed")["Visma price lists"]
    assert "is Standard/Smart" in reason and "need Visma eEkonomi Pro" in reason
    sent = items(job, "transferred")
    assert len(sent) == 4  # every ordinary price went
    assert all("KAMPANJ-JUL left as they are" in m and "Pro" in m for m in sent.values())
    # The merchant's own campaign price in the shop is untouched (20 % off, as in the demo).
    assert _campaign_row(sandbox, "BOK-5001", tenant="fjallbok") == (
        Decimal("196.00"),
        Decimal("245.00"),
    )


def test_price_lists_put_each_mapped_visma_list_in_its_shop_list(sandbox):
    erp_master = integration(
        sandbox,
        package="400",
        campaign_price_list="Kampanj",
        price_list_mapping={"Återförsäljare": "B2B", "Standard": "OUTLET"},
    )
    shop = shop_client(erp_master)
    shop.wait_for_job(shop.import_price_list("B2B", "Återförsäljare").job_id)

    job = run(erp_master, "price_lists")

    assert job.status == "partial"  # the shop has no OUTLET list: said once for the job
    assert "has no price list OUTLET" in items(job, "failed")["price_list_mapping"]
    assert price_of(jetshop(sandbox), "KOK-1001", "B2B") == Decimal("897.00")
    assert price_of(jetshop(sandbox), "KOK-1003", "B2B") == Decimal("359.20")  # not on it
    assert price_of(jetshop(sandbox), "KOK-1001", "STANDARD") == Decimal("1196.00")
    assert _campaign_row(sandbox, "KOK-1001") == (Decimal("999.20"), Decimal("1196.00"))
    message = items(job, "transferred")["KOK-1001"]
    assert "897.00 excl. VAT in B2B" in message and "(was 1196.00)" in message
    assert run(erp_master, "price_lists").transferred == 0


def test_shopify_shows_the_campaign_price_with_the_ordinary_one_struck_through(sandbox):
    from shops.sandbox.demo_data import FJALLMODE_SHOPS
    from tests import factories

    owner = factories.customer(package_code="200")
    shop_url, shop_credentials = demo_connection_any("shopify", "fjallmode", sandbox.root)
    erp_url, erp_credentials = demo_connection_any("visma", FJALLMODE_SHOPS, sandbox.root)
    erp_master = factories.integration(
        owner,
        factories.connection(owner, "visma", erp_url, credentials=erp_credentials),
        [factories.connection(owner, "shopify", shop_url, credentials=shop_credentials)],
        flow=Integration.Flow.ERP_MASTER,
        options={"campaign_price_list": "Kampanj"},
    )

    first = run(erp_master, "prices")

    assert first.status == "succeeded", first.error
    variants = {v["sku"]: v for v in sandbox.state()["shopify"]["shops"]["fjallmode"]["variants"]}
    jacket = variants["FM-3001-M"]
    assert (Decimal(jacket["price"]), Decimal(jacket["compareAtPrice"])) == (
        Decimal("1199.00"),
        Decimal("1499.00"),
    )
    socks = variants["FM-1001"]  # no campaign: the ordinary price and no "was" price
    assert Decimal(socks["price"]) == Decimal("149.00") and socks["compareAtPrice"] is None
    assert (
        items(first, "transferred")["FM-3001-M"] == "Campaign price 1199.00 incl. VAT (was 1499.00)"
    )
    assert run(erp_master, "prices").transferred == 0


def test_a_mapped_list_visma_cannot_price_keeps_the_merchants_prices(sandbox):
    from shops.clients.types import NewShopPrice

    erp_master = integration(
        sandbox, tenant="fjallbok", package="400", price_list_mapping={"Återförsäljare": "B2B"}
    )
    shop = shop_client(erp_master)
    shop.wait_for_job(shop.import_price_list("B2B", "Återförsäljare").job_id)
    shop.wait_for_job(
        shop.import_prices([NewShopPrice("BOK-5001", "B2B", Decimal("199.00"))]).job_id
    )

    job = run(erp_master, "price_lists")

    assert job.status == "partial"
    assert "need Visma eEkonomi Pro" in items(job, "failed")["Visma price lists"]
    message = items(job, "transferred")["BOK-5001"]
    assert "245.00 excl. VAT in STANDARD" in message
    assert "B2B" in message and "left as they are" in message
    assert price_of(jetshop(sandbox, "fjallbok"), "BOK-5001", "B2B") == Decimal("199.00")
