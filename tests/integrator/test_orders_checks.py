"""What the orders flow refuses, one order at a time, and what it makes of the buyer: VAT rates
that differ between the shop and Visma, a closed accounting period, Visma orders with and
without the order module, companies matched by organisation number, the order's currency."""

from __future__ import annotations

import pytest
import requests

from integrator import services
from integrator.models import Integration, SyncJob
from shops.models import Connection
from shops.sandbox.demo_data import FJALLBOK, NORRSKEN
from shops.sandbox.demo_jetshop import BERGSTROM
from tests import factories
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration


def _run(integration: Integration) -> SyncJob:
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def _visma_hook(sandbox, action: str, company: str = NORRSKEN, **body) -> None:
    requests.post(
        f"{sandbox.root}/_sandbox/visma/{action}", json={"company": company, **body}, timeout=5
    ).raise_for_status()


def _order(number: str, *items: tuple[str, str, int], **fields) -> dict:
    return {
        "OrderNo": number,
        "Items": [
            {"PartNo": part, "Quantity": 1, "UnitPrice": price, "VatRate": rate}
            for part, price, rate in items
        ],
        **fields,
    }


@pytest.mark.django_db
def test_it_fails_an_order_whose_vat_rate_differs_from_the_visma_article(sandbox):
    integration = _jetshop_integration(sandbox)
    # The merchant books the cast-iron pot at 12 % in Visma; the shop charges 25 %.
    _visma_hook(
        sandbox, "articles", articles=[{"Number": "KOK-1001", "VatRate": 12, "NetPrice": "1196"}]
    )

    job = _run(integration)

    failed = {i.key: i.message for i in job.items.filter(outcome="failed")}
    with_pot = {
        o["OrderNo"]
        for o in sandbox.state()["jetshop"]["shops"][NORRSKEN]["orders"]
        if o["StatusId"] != 6 and any(i["PartNo"] == "KOK-1001" for i in o["Items"])
    }
    assert with_pot and with_pot <= set(failed)
    message = failed[sorted(with_pot)[0]]
    assert "25 %" in message and "12 %" in message and "KOK-1001" in message
    # The others went through.
    invoiced = {i["YourReference"] for i in sandbox.state()["visma"]["customerinvoices"]}
    assert invoiced and not any(r.endswith(tuple(f"-{n}" for n in with_pot)) for r in invoiced)


@pytest.mark.django_db
def test_a_food_row_at_six_percent_is_just_a_rate(sandbox):
    integration = _jetshop_integration(sandbox)
    sandbox.add_orders(NORRSKEN, _order("300001", ("MAT-2001", "89.00", 6)))

    job = _run(integration)

    assert job.items.get(key="300001").outcome == "transferred"


@pytest.mark.django_db
def test_a_closed_period_fails_the_orders_and_tells_the_merchant(sandbox):
    integration = _jetshop_integration(sandbox)
    _visma_hook(sandbox, "company", AccountingLockedTo="2030-12-31")

    job = _run(integration)

    assert job.status == SyncJob.Status.PARTIAL and job.transferred == 0
    message = job.items.filter(outcome="failed").first().message
    assert "locked" in message and "merchant must open" in message
    # Nothing half-made in Visma: the period is checked before anything is written.
    assert sandbox.state()["visma"]["customerinvoicedrafts"] == []
    erp = Connection.objects.get(pk=integration.erp_id)
    assert erp.health == Connection.Health.WARNING and "locked" in erp.health_message


@pytest.mark.django_db
def test_orders_become_visma_orders_exactly_once(sandbox):
    integration = _jetshop_integration(sandbox)
    integration.order_target = Integration.OrderTarget.ORDER
    integration.save()
    transferable = [
        o
        for o in sandbox.shop_orders(integration.shops.get())
        if o["transferable"] and not o["cancelled"]
    ]

    first = _run(integration)
    second = _run(integration)

    visma = sandbox.state()["visma"]["companies"][NORRSKEN]
    assert first.transferred == len(transferable) and second.transferred == 0
    assert len(visma["orders"]) == len(transferable) and visma["customerinvoices"] == []
    assert all(n == 1 for n in visma["create_calls"]["orders"].values())
    assert first.items.filter(outcome="transferred").first().message.startswith("Visma order")


@pytest.mark.django_db
def test_without_the_order_module_the_job_fails_and_says_the_module_is_needed(sandbox):
    owner = factories.customer()
    shop = factories.connection(
        owner,
        "jetshop",
        sandbox.url("jetshop", FJALLBOK),
        credentials=sandbox.credentials("jetshop", tenant=FJALLBOK),
    )
    erp = factories.connection(
        owner,
        "visma",
        sandbox.url("visma", FJALLBOK),
        credentials=sandbox.credentials("visma", tenant=FJALLBOK),
    )
    integration = factories.integration(owner, erp, [shop], order_target="order")

    job = _run(integration)

    assert job.status == SyncJob.Status.FAILED
    assert "order module" in job.error
    erp.refresh_from_db()
    assert erp.health == Connection.Health.WARNING and "order module" in erp.health_message
    assert sandbox.state()["visma"]["companies"][FJALLBOK]["orders"] == []


@pytest.mark.django_db
def test_a_company_is_one_customer_found_by_its_organisation_number(sandbox):
    integration = _jetshop_integration(sandbox)
    shop = integration.shops.get()
    # The same company, once with and once without its customer code in the shop.
    other_buyer = {**BERGSTROM, "Company": {**BERGSTROM["Company"], "Code": ""}}
    sandbox.add_orders(
        NORRSKEN,
        _order("300002", ("KOK-1002", "639.20", 25), BillTo=BERGSTROM),
        _order("300003", ("KOK-1002", "639.20", 25), BillTo=other_buyer),
    )

    _run(integration)

    visma = sandbox.state()["visma"]
    companies = [c for c in visma["customers"] if c.get("CorporateIdentityNumber")]
    assert [c["CustomerNumber"] for c in companies] == ["W-5568043219"]
    ids = {
        i["CustomerId"]
        for i in visma["customerinvoices"]
        if i["YourReference"] in (f"WEB-{shop.pk}-300002", f"WEB-{shop.pk}-300003")
    }
    assert ids == {companies[0]["Id"]}


@pytest.mark.django_db
def test_the_order_currency_goes_to_the_customer_and_the_visma_order(sandbox):
    integration = _jetshop_integration(sandbox)
    integration.order_target = Integration.OrderTarget.ORDER
    integration.save()
    buyer = {
        "Company": None,
        "Person": {
            "CustomerCode": "C-EUR-1",
            "FirstName": "Liisa",
            "LastName": "Virtanen",
            "Email": "liisa@example.fi",
            "CellPhone": "",
            "Address": {
                "Line1": "Esplanadi 1",
                "Line2": "",
                "ZipCode": "00100",
                "City": "Helsinki",
                "Country": "FI",
            },
        },
    }
    sandbox.add_orders(
        NORRSKEN, _order("300004", ("KOK-1002", "60.00", 25), BillTo=buyer, CurrencyCode="EUR")
    )

    _run(integration)

    visma = sandbox.state()["visma"]
    order = next(o for o in visma["orders"] if o["YourReference"].endswith("-300004"))
    customer = next(c for c in visma["customers"] if c["Id"] == order["CustomerId"])
    assert order["CurrencyCode"] == "EUR" and customer["CurrencyCode"] == "EUR"


def test_free_shipping_at_0_percent_goes_on_the_shipping_article_whatever_its_rate():
    from decimal import Decimal

    from integrator.flows.order_documents import _check_vat
    from shops.clients.types import ErpArticle, ShopOrderRow

    free = ShopOrderRow(
        article_number="",
        description="Fri frakt",
        quantity=Decimal("1"),
        unit_price=Decimal("0"),
        discount_percent=Decimal("0"),
        vat_rate=Decimal("0"),
        is_shipping=True,
    )
    shipping = ErpArticle(
        id="a",
        number="FRAKT",
        name="Frakt",
        unit_price=Decimal("39.20"),
        is_active=True,
        vat_rate=Decimal("25"),
    )
    _check_vat(free, shipping)  # no OrderRejected: nothing was charged, so no VAT is wrong
