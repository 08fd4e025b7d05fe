"""Multishop (package 400+): a Jetshop shop with two channels and a Shopify shop feed one Visma
company; orders are tagged with where they came from and routed to their own customer number
series."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from integrator import services
from integrator.models import SyncJob
from shops.clients.registry import client_for
from shops.sandbox import shopify_data
from shops.sandbox.demo_data import NORRSKEN, demo_connection_any
from shops.sandbox.demo_jetshop import BERGSTROM
from tests import factories

FJALLMODE = shopify_data.FJALLMODE


def _add_visma_articles(sandbox, articles: list[dict]) -> None:
    requests.post(
        f"{sandbox.root}/_sandbox/visma/articles",
        json={"company": NORRSKEN, "articles": articles},
        timeout=5,
    ).raise_for_status()


def _multishop(sandbox, **routing):
    owner = factories.customer(name="Norrsken Hem & Kök AB", package_code="400")
    jetshop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop")
    )
    base_url, credentials = demo_connection_any("shopify", FJALLMODE, sandbox.root)
    shopify = factories.connection(
        owner, "shopify", base_url, credentials=credentials, name="Fjällmode (Shopify)"
    )
    erp = factories.connection(
        owner, "visma", sandbox.url("visma"), credentials=sandbox.credentials("visma")
    )
    integration = factories.integration(owner, erp, [jetshop, shopify])
    # The SKUs the Shopify shop sells, as the merchant would add them in Visma.
    _add_visma_articles(
        sandbox,
        [
            {"Number": sku, "Name": f"{title} {variant}"[:50], "VatRate": rate, "NetPrice": "100"}
            for _pid, title, rate, variants in shopify_data.PRODUCTS
            for sku, variant, *_rest in variants
        ],
    )
    return integration, jetshop, shopify


def _run(integration) -> SyncJob:
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_it_feeds_one_visma_company_from_a_jetshop_and_a_shopify_shop(sandbox):
    integration, jetshop, shopify = _multishop(sandbox)
    integration.options = {
        "routing": {
            f"{jetshop.pk}/1002": {"customer_number_prefix": "B2B", "label": "Företag"},
            str(shopify.pk): {"customer_number_prefix": "S"},
        }
    }
    integration.save()
    sandbox.add_orders(
        NORRSKEN,
        {
            "OrderNo": "200001",
            "ApplicationId": 1002,
            "BillTo": BERGSTROM,
            "Items": [{"PartNo": "KOK-1001", "Quantity": 2, "UnitPrice": "1196.00"}],
        },
    )
    jetshop_expected = {
        f"WEB-{jetshop.pk}-{o['number']}"
        for o in sandbox.shop_orders(jetshop)
        if o["transferable"] and not o["cancelled"]
    }
    shopify_orders = [
        o
        for page in client_for(shopify).iter_orders("")
        for o in page.orders
        if o.status.lower() != "cancelled"
    ]
    assert shopify_orders

    job = _run(integration)

    invoices = sandbox.state()["visma"]["customerinvoices"]
    references = Counter(i["YourReference"] for i in invoices)
    assert max(references.values()) == 1
    assert set(references) == jetshop_expected | {
        f"WEB-{shopify.pk}-{o.order_number}" for o in shopify_orders
    }
    assert job.transferred == len(references)

    # Routed: the channel-1002 company into the B2B series (by its organisation number), the
    # Shopify buyers into the S series, the rest of Jetshop into the default one.
    customers = {c["Id"]: c for c in sandbox.state()["visma"]["customers"]}
    by_reference = {i["YourReference"]: customers[i["CustomerId"]] for i in invoices}
    b2b = by_reference[f"WEB-{jetshop.pk}-200001"]
    assert b2b["CustomerNumber"] == "B2B-5568043219"
    assert b2b["CorporateIdentityNumber"] == "556804-3219" and not b2b["IsPrivatePerson"]
    assert all(
        by_reference[f"WEB-{shopify.pk}-{o.order_number}"]["CustomerNumber"].startswith("S")
        for o in shopify_orders
    )
    assert all(
        customers[i]["CustomerNumber"].startswith(("W", "B2B"))
        for i in {
            inv["CustomerId"] for inv in invoices if f"-{jetshop.pk}-" in inv["YourReference"]
        }
    )
    assert all(len(c["CustomerNumber"]) <= 16 for c in customers.values())

    # Tagged: on the invoice (a text row) and on the job's item, so support can tell them apart.
    b2b_invoice = next(i for i in invoices if i["YourReference"] == f"WEB-{jetshop.pk}-200001")
    assert any("channel" in r.get("Text", "") and "1002" in r["Text"] for r in b2b_invoice["Rows"])
    item = job.items.get(key=f"{jetshop.pk}:200001")
    assert "1002" in item.message and item.detail["route"] == f"{jetshop.pk}/1002"
    shopify_item = job.items.get(key=f"{shopify.pk}:{shopify_orders[0].order_number}")
    assert "Fjällmode (Shopify)" in shopify_item.message

    again = _run(integration)
    assert again.transferred == 0
    assert len(sandbox.state()["visma"]["customerinvoices"]) == len(references)


@pytest.mark.django_db
def test_it_refuses_a_routing_that_would_break_customer_numbers(sandbox):
    integration, _jetshop, _shopify = _multishop(sandbox)
    integration.options = {"routing": {"*": {"customer_number_prefix": "TOO-LONG"}}}
    integration.save()

    job = _run(integration)

    assert job.status == SyncJob.Status.FAILED
    assert "customer_number_prefix 'TOO-LONG'" in job.error
    assert sandbox.state()["visma"]["customerinvoices"] == []


def _cost_centre_item(integration, short_name: str) -> str:
    """The Visma id of a cost centre item, read the way the client does."""
    centres = client_for(integration.erp).cost_centres()
    return next(i.id for c in centres for i in c.items if i.short_name == short_name)


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["invoice", "order"])
def test_every_row_of_a_routed_order_is_booked_on_the_shops_cost_centre(sandbox, target):
    integration, jetshop, shopify = _multishop(sandbox)
    integration.order_target = target
    integration.options = {
        "routing": {
            f"{jetshop.pk}/1002": {"customer_number_prefix": "B2B", "cost_centre": "B2B"},
            str(shopify.pk): {"customer_number_prefix": "S", "cost_centre": "Outlet"},
        }
    }
    integration.full_clean()  # the admin's check: both are items Visma knows
    integration.save()
    sandbox.add_orders(
        NORRSKEN,
        {
            "OrderNo": "200002",
            "ApplicationId": 1002,
            "BillTo": BERGSTROM,
            "Items": [
                {"PartNo": "KOK-1001", "Quantity": 1, "UnitPrice": "1196.00"},
                {"PartNo": "KOK-1002", "Quantity": 3, "UnitPrice": "639.20"},
            ],
        },
    )

    job = _run(integration)

    assert job.status in (SyncJob.Status.SUCCEEDED, SyncJob.Status.PARTIAL), job.error
    visma = sandbox.state()["visma"]["companies"][NORRSKEN]
    documents = visma["orders"] if target == "order" else visma["customerinvoices"]
    by_reference = {d["YourReference"]: d for d in documents}
    b2b = _cost_centre_item(integration, "B2B")
    outlet = _cost_centre_item(integration, "OUTLET")
    routed = [r for r in by_reference[f"WEB-{jetshop.pk}-200002"]["Rows"] if not r["IsTextRow"]]
    assert len(routed) >= 2 and all(r["CostCenterItemId1"] == b2b for r in routed)
    shopify_rows = [
        r
        for reference, document in by_reference.items()
        if reference.startswith(f"WEB-{shopify.pk}-")
        for r in document["Rows"]
        if not r["IsTextRow"]
    ]
    assert shopify_rows and all(r["CostCenterItemId1"] == outlet for r in shopify_rows)
    # Jetshop's other channel has no route with a cost centre: its rows carry none.
    other = [
        r
        for reference, document in by_reference.items()
        if reference.startswith(f"WEB-{jetshop.pk}-") and reference != f"WEB-{jetshop.pk}-200002"
        for r in document["Rows"]
    ]
    assert other and not any(r.get("CostCenterItemId1") for r in other)


@pytest.mark.django_db
def test_a_cost_centre_visma_does_not_have_is_refused_when_the_routing_is_saved(sandbox):
    from django.core.exceptions import ValidationError

    integration, _jetshop, shopify = _multishop(sandbox)
    integration.options = {"routing": {str(shopify.pk): {"cost_centre": "SHOPIFY"}}}

    with pytest.raises(ValidationError) as refused:
        integration.full_clean()

    message = " ".join(refused.value.message_dict["options"])
    assert f"Routing {shopify.pk}: cost_centre 'SHOPIFY' is not an item" in message
    assert "B2B, OUTLET, WEBB" in message  # what Visma does have (MASSA is inactive)

    integration.options = {"routing": {str(shopify.pk): {"cost_centre": "MASSA"}}}
    with pytest.raises(ValidationError, match="'MASSA' is inactive"):
        integration.full_clean()

    integration.save()  # saved around the admin: the job refuses it before writing anything
    job = _run(integration)
    assert job.status == SyncJob.Status.FAILED and "'MASSA' is inactive" in job.error
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["customerinvoices"] == []
