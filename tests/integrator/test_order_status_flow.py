"""What happens to an order in Visma goes back to the shop, once: status, e-mail, capture."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from integrator import services
from integrator.models import Link, SyncItem, SyncJob
from shops.clients.types import Address, NewErpOrder, NewInvoiceRow
from shops.clients.visma import VismaClient
from shops.clients.visma_sales import NOTE_ORDER
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


def _ship_in_visma(sandbox, integration, link: Link, parcel: str = "") -> None:
    """The merchant works with Visma orders: ours is entered, then marked shipped with PostNord;
    the warehouse writes the parcel number in a note on it when there is one."""
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
    _mark_shipped(sandbox, NORRSKEN, link.natural_key, "PostNord MyPack Collect")
    if parcel:
        _write_parcel_note(integration, link.natural_key, parcel)


def _mark_shipped(sandbox, company: str, reference: str, delivery_method: str) -> None:
    body = {
        "company": company,
        "YourReference": reference,
        "Status": 3,
        "DeliveryMethodName": delivery_method,
    }
    requests.post(f"{sandbox.url()}/_sandbox/visma/orders", json=body, timeout=5).raise_for_status()


def _write_parcel_note(integration, reference: str, text: str, subject: str = "Spårning") -> None:
    """What the warehouse does in Visma: a note on the order with the parcel number."""
    erp = VismaClient(integration.erp)
    erp.create_note(erp.find_order(reference).id, NOTE_ORDER, subject, text)


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
def test_a_delivered_order_gets_its_status_tracking_an_email_and_one_capture(sandbox, transferred):
    transferred.order_target = "order"  # the merchant delivers from Visma orders
    transferred.save()
    link = _our_orders(transferred)[0]
    _ship_in_visma(sandbox, transferred, link, parcel="00370712345678901234")
    invoice_number = VismaClient(transferred.erp).find_invoice(link.natural_key).invoice_number

    first = _run(transferred, "order_status")

    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    jetshop = _jetshop(sandbox)
    order = next(o for o in jetshop["orders"] if str(o["Id"]) == link.source_id)
    assert order["StatusId"] == 4  # Norce's Delivered
    updates = [u for u in jetshop["status_updates"] if u["OrderNo"] == order["OrderNo"]]
    assert [(u["OrderStatus"], u["SendEmail"]) for u in updates] == [("Delivered", True)]
    # From the warehouse's note on the Visma order, and the order's delivery method.
    assert (updates[0]["TrackingCode"], updates[0]["FreightForwarder"]) == (
        "00370712345678901234",
        "PostNord",
    )
    assert (
        "tracking PostNord 00370712345678901234"
        in first.items.get(key__endswith="delivered").message
    )
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


@pytest.mark.django_db
def test_without_a_parcel_note_the_status_waits_then_goes_without_tracking(sandbox, transferred):
    transferred.order_target = "order"
    transferred.save()
    first_link, second_link = _our_orders(transferred)[:2]
    _ship_in_visma(sandbox, transferred, first_link)

    waiting = _run(transferred, "order_status")

    item = waiting.items.get()
    assert (
        item.outcome == SyncItem.Outcome.SKIPPED and "Waiting for the parcel number" in item.message
    )
    assert _jetshop(sandbox)["status_updates"] == [] and _jetshop(sandbox)["invoices"] == []

    # The warehouse writes the note a few minutes later; the next run finds the order again.
    _write_parcel_note(transferred, first_link.natural_key, "Kollinummer 00370798765432109876")
    sent = _run(transferred, "order_status")

    assert sent.transferred == 2, list(sent.items.values_list("key", "message"))
    update = _jetshop(sandbox)["status_updates"][0]
    assert update["TrackingCode"] == "00370798765432109876"

    # A note nobody writes: after the wait the status goes without tracking, and says so.
    _ship_in_visma(sandbox, transferred, second_link)
    assert _run(transferred, "order_status").items.get().outcome == SyncItem.Outcome.SKIPPED
    Link.objects.filter(source_id=f"{second_link.natural_key}:delivered").update(
        created_at=timezone.now() - datetime.timedelta(minutes=61)
    )
    late = _run(transferred, "order_status")

    status = late.items.get(key__endswith=": delivered")
    assert status.outcome == SyncItem.Outcome.TRANSFERRED
    assert "Sent without tracking" in status.message and "60 minutes" in status.message
    updates = _jetshop(sandbox)["status_updates"]
    assert len(updates) == 2 and updates[1]["TrackingCode"] == ""


def _shop_integration(sandbox, platform: str):
    """A Shopify or WooCommerce shop whose orders are already Visma orders (Fjällmode)."""
    from shops.sandbox.demo_data import FJALLMODE_SHOPS, demo_connection_any

    owner = factories.customer(package_code="200")
    shop_url, shop_credentials = demo_connection_any(platform, "fjallmode", sandbox.root)
    erp_url, erp_credentials = demo_connection_any("visma", FJALLMODE_SHOPS, sandbox.root)
    shop = factories.connection(owner, platform, shop_url, credentials=shop_credentials)
    erp = factories.connection(owner, "visma", erp_url, credentials=erp_credentials)
    integration = factories.integration(owner, erp, [shop], order_target="order")
    assert _run(integration, "orders").transferred > 0
    integration.options = {
        "order_status": {"delivered": {"status": "completed", "email": True, "tracking": True}}
    }
    integration.save()
    return integration


@pytest.mark.django_db
def test_shopify_gets_the_parcel_number_carrier_and_tracking_page_on_its_fulfilment(sandbox):
    from shops.sandbox.demo_data import FJALLMODE_SHOPS

    integration = _shop_integration(sandbox, "shopify")
    orders = sandbox.state()["shopify"]["shops"]["fjallmode"]["orders"]
    unfulfilled = {o["id"].rsplit("/", 1)[-1] for o in orders if not o["fulfillments"]}
    link = next(k for k in _our_orders(integration) if k.source_id in unfulfilled)
    _mark_shipped(sandbox, FJALLMODE_SHOPS, link.natural_key, "DHL Service Point")
    _write_parcel_note(integration, link.natural_key, "Tracking number: JJD00123456789012", "Lager")

    job = _run(integration, "order_status")

    assert job.transferred == 1, list(job.items.values_list("key", "message"))
    orders = sandbox.state()["shopify"]["shops"]["fjallmode"]["orders"]
    order = next(o for o in orders if o["id"].endswith(f"/{link.source_id}"))
    assert order["fulfillments"][-1]["trackingInfo"] == [
        {
            "number": "JJD00123456789012",
            "company": "DHL",
            "url": "https://www.dhl.com/se-sv/home/tracking.html?tracking-id=JJD00123456789012",
        }
    ]


@pytest.mark.django_db
def test_woocommerce_mails_the_parcel_number_in_the_customer_note(sandbox):
    from shops.sandbox.demo_data import FJALLMODE_SHOPS

    integration = _shop_integration(sandbox, "woocommerce")
    link = _our_orders(integration)[0]
    _mark_shipped(sandbox, FJALLMODE_SHOPS, link.natural_key, "Bring Hemleverans")
    _write_parcel_note(integration, link.natural_key, "370438101015432113", "Kolli")

    job = _run(integration, "order_status")

    assert job.transferred == 1, list(job.items.values_list("key", "message"))
    notes = sandbox.state()["woocommerce"]["sites"]["fjallmode"]["notes"][link.source_id]
    customer_notes = [n for n in notes if n["customer_note"]]
    assert len(customer_notes) == 1
    assert "Bring: 370438101015432113" in customer_notes[0]["note"]
    assert "https://tracking.bring.se/tracking/370438101015432113" in customer_notes[0]["note"]


@pytest.mark.django_db
def test_a_parcel_number_noted_on_the_invoice_goes_with_the_invoiced_status(sandbox, transferred):
    from shops.clients.visma_sales import NOTE_CUSTOMER_INVOICE

    transferred.options = {
        "order_status": {"invoiced": {"status": "Invoiced", "email": True, "tracking": True}}
    }
    transferred.save()
    link = _our_orders(transferred)[0]
    erp = VismaClient(transferred.erp)
    invoice = erp.find_invoice(link.natural_key)
    erp.create_note(invoice.id, NOTE_CUSTOMER_INVOICE, "Skickat", "Spårning: RR123456789SE")

    job = _run(transferred, "order_status")

    number = link.natural_key.rsplit("-", 1)[-1]
    item = job.items.get(key=f"{number}: invoiced")
    assert item.outcome == SyncItem.Outcome.TRANSFERRED and "RR123456789SE" in item.message
    update = next(u for u in _jetshop(sandbox)["status_updates"] if str(u["OrderNo"]) == number)
    assert (update["TrackingCode"], update["FreightForwarder"]) == ("RR123456789SE", "PostNord")
    # The other invoiced orders have no note yet: they wait rather than mail without it.
    waiting = job.items.exclude(key=f"{number}: invoiced")
    assert waiting and all(i.outcome == SyncItem.Outcome.SKIPPED for i in waiting)
