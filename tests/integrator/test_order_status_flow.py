"""What happens to an order in Visma goes back to the shop, once: status, e-mail, capture."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import requests

from integrator import services
from integrator.models import Link, SyncItem, SyncJob
from shops.clients.types import Address, NewErpOrder, NewInvoiceRow
from shops.clients.visma import VismaClient
from shops.sandbox.demo_data import NORRSKEN
from tests import factories

DELIVERED = {"status": "Delivered", "email": True, "tracking": True, "capture": True}
CANCELLED = {"status": "Cancelled", "email": True}


@pytest.fixture(autouse=True)
def quick(settings):
    settings.SYNC_RETRY_BACKOFF = 0.01
    settings.RATE_LIMITS = {"visma": None}


def _run(integration, kind: str) -> SyncJob:
    job, _created = services.job_enqueue(
        integration=integration, kind=kind, trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def transferred(sandbox):
    """A Jetshop integration whose orders the orders flow has already put in Visma."""
    owner = factories.customer(name="Norrsken Hem & Kök AB", organisation_number="556804-3219")
    shop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop")
    )
    erp = factories.connection(
        owner, "visma", sandbox.url("visma"), credentials=sandbox.credentials("visma")
    )
    integration = factories.integration(owner, erp, [shop])
    assert _run(integration, "orders").transferred > 1
    integration.options = {"order_status": {"delivered": DELIVERED, "cancelled": CANCELLED}}
    integration.save()
    return integration


def _our_orders(integration) -> list[Link]:
    return list(integration.links.filter(entity="order", state=Link.State.DONE).order_by("pk"))


def _jetshop(sandbox) -> dict:
    return sandbox.state()["jetshop"]["shops"][NORRSKEN]


def _ship_in_visma(sandbox, integration, link: Link) -> None:
    """The merchant works with Visma orders: ours is entered, then marked shipped."""
    erp = VismaClient(integration.erp)
    invoice = erp.find_invoice(link.natural_key)
    article = erp.find_article("KOK-1001")
    address = Address("Kund", "Gatan 1", "", "11122", "Stockholm", "SE")
    erp.create_order(
        NewErpOrder(
            customer_id=invoice.customer_id,
            your_reference=link.natural_key,
            customer_is_private_person=True,
            invoice_address=address,
            delivery_address=None,
            order_date=datetime.date.today(),
            currency="SEK",
            rows=[
                NewInvoiceRow(
                    article.id,
                    "Stekpanna",
                    Decimal("1"),
                    Decimal("100"),
                    Decimal("0"),
                    Decimal("25"),
                )
            ],
        )
    )
    requests.post(
        f"{sandbox.url()}/_sandbox/visma/orders",
        json={"company": NORRSKEN, "YourReference": link.natural_key, "Status": 3},
        timeout=5,
    ).raise_for_status()


def _credit_in_visma(integration, link: Link) -> None:
    """The merchant credits our invoice in Visma: a credit invoice with the same reference."""
    erp = VismaClient(integration.erp)
    original = erp.request("GET", f"/v2/customerinvoices/{link.target_id}")
    keep = """CustomerId YourReference InvoiceCustomerName InvoiceAddress1 InvoicePostalCode
        InvoiceCity InvoiceCountryCode CustomerIsPrivatePerson EuThirdParty
        RotReducedInvoicingType""".split()
    draft = {k: original[k] for k in keep if original.get(k) is not None}
    draft["IsCreditInvoice"] = True
    draft["Rows"] = [
        {
            "LineNumber": row["LineNumber"],
            "ArticleId": row.get("ArticleId"),
            "IsTextRow": bool(row.get("IsTextRow")),
            "Text": row.get("Text") or "Kredit",
            "UnitPrice": row.get("UnitPrice"),
            "Quantity": -float(row.get("Quantity") or 1),
            "ReversedConstructionServicesVatFree": False,
        }
        for row in original["Rows"]
    ]
    created = erp.request("POST", "/v2/customerinvoicedrafts", json_body=draft)
    erp.request("POST", f"/v2/customerinvoicedrafts/{created['Id']}/convert", json_body={})


@pytest.mark.django_db
def test_a_delivered_order_gets_its_status_an_email_and_one_capture(sandbox, transferred):
    transferred.order_target = "order"  # the merchant delivers from Visma orders
    transferred.save()
    link = _our_orders(transferred)[0]
    _ship_in_visma(sandbox, transferred, link)
    invoice_number = VismaClient(transferred.erp).find_invoice(link.natural_key).invoice_number

    first = _run(transferred, "order_status")

    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    jetshop = _jetshop(sandbox)
    order = next(o for o in jetshop["orders"] if str(o["Id"]) == link.source_id)
    assert order["StatusId"] == 4  # Norce's Delivered
    updates = [u for u in jetshop["status_updates"] if u["OrderNo"] == order["OrderNo"]]
    assert [(u["OrderStatus"], u["SendEmail"]) for u in updates] == [("Delivered", True)]
    # Visma keeps no parcel tracking, so none is invented.
    assert updates[0]["TrackingCode"] == ""
    assert [e["OrderNo"] for e in jetshop["emails"]] == [order["OrderNo"]]
    assert [(i["OrderNo"], i["InvoiceNo"]) for i in jetshop["invoices"]] == [
        (order["OrderNo"], invoice_number)
    ]
    # Only the shipped order moved: the others are merely invoiced, which is not configured.
    assert first.transferred == 2  # the status and the capture

    second = _run(transferred, "order_status")

    assert second.transferred == 0 and second.failed == 0
    again = _jetshop(sandbox)
    assert len(again["status_updates"]) == len(jetshop["status_updates"])
    assert len(again["emails"]) == 1
    assert again["writes"]["captures"] == {str(order["OrderNo"]): 1}


@pytest.mark.django_db
def test_a_credited_order_gets_the_configured_cancelled_status(sandbox, transferred):
    link = _our_orders(transferred)[1]
    _credit_in_visma(transferred, link)

    job = _run(transferred, "order_status")

    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    item = job.items.get()
    assert item.outcome == SyncItem.Outcome.TRANSFERRED
    assert item.key.endswith(": cancelled")
    jetshop = _jetshop(sandbox)
    order = next(o for o in jetshop["orders"] if str(o["Id"]) == link.source_id)
    assert order["StatusId"] == 6  # Norce's Cancelled
    assert [u["OrderStatus"] for u in jetshop["status_updates"]] == ["Cancelled"]
    assert jetshop["invoices"] == []  # a cancelled order is never captured


@pytest.mark.django_db
def test_package_100_sends_no_statuses_and_says_why(sandbox, transferred):
    subscription = transferred.customer.current_subscription()
    subscription.package = subscription.package.__class__.objects.get(code="100")
    subscription.save()

    with pytest.raises(services.JobNotAllowed, match="Paket 100 does not include"):
        services.job_enqueue(
            integration=transferred, kind="order_status", trigger="manual", queue=False
        )
