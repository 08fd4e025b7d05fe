"""What goes back to a Jetshop / Norce shop: order status with e-mail and tracking, capture on
delivery, products, price lists, prices and stock (asynchronous imports), and its channels."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from shops.clients.errors import ValidationFailed
from shops.clients.jetshop import JetshopClient
from shops.clients.types import NewShopPrice, NewShopProduct, NewShopStock, ShopImportJob
from shops.sandbox.demo_data import NORRSKEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(jetshop_connection) -> JetshopClient:
    client = JetshopClient(jetshop_connection)
    client.JOB_POLL_SECONDS = 0.01
    return client


def _shop(sandbox) -> dict:
    return sandbox.state()["jetshop"]["shops"][NORRSKEN]


def _done(client: JetshopClient, job: ShopImportJob) -> ShopImportJob:
    finished = client.wait_for_job(job.job_id, timeout=5)
    assert finished.finished, finished
    return finished


def test_delivered_is_sent_with_an_email_and_tracking(client, sandbox):
    client.send_order_status(
        "1001", "Delivered", send_email=True, freight_forwarder="PostNord", tracking_code="PN123SE"
    )

    shop = _shop(sandbox)
    [email] = shop["emails"]
    assert email["To"] == "anna.lindqvist@example.se" and email["TrackingCode"] == "PN123SE"
    assert next(o for o in shop["orders"] if o["Id"] == 1001)["StatusId"] == 4
    # The shop sees the change as an update of the order, like any other.
    assert [o.status for o in client.orders_by_id(["1001"])] == ["Delivered"]


def test_a_status_norce_does_not_know_is_refused_before_sending(client, sandbox):
    with pytest.raises(ValueError, match="no order status"):
        client.send_order_status("1001", "Shipped")

    assert _shop(sandbox)["status_updates"] == []


def test_capture_on_delivery_happens_once_however_often_it_is_asked(client, sandbox):
    day = datetime.date(2026, 11, 20)

    first = client.capture_order("1003", invoice_no="10001", invoice_date=day)
    again = client.capture_order("1003", invoice_no="10001", invoice_date=day)

    assert (first.amount, first.already_captured) == (Decimal("2514.30"), False)
    assert again.already_captured
    shop = _shop(sandbox)
    assert shop["writes"]["captures"] == {"100103": 1}
    assert [i["PaymentRef"] for i in shop["invoices"]] == ["klarna-1003"]


def test_a_product_import_is_queued_and_polled_until_done(client, sandbox):
    job = client.import_products(
        [
            NewShopProduct("KOK-1006", "Durkslag stål", Decimal("25")),
            NewShopProduct("KOK-1001", "Gjutjärnsgryta 4 l, svart", Decimal("25")),
            NewShopProduct("KOK-1007", "", Decimal("25")),  # new without a name: refused
        ]
    )

    assert (job.status, job.finished, job.failed_items) == ("Queued", False, 1)
    assert job.messages == ["KOK-1007: Name is required for a new product."]
    assert client.job(job.job_id).status == "Initialized"  # not applied yet
    assert [p.part_no for p in client.products(["KOK-1006"])] == []
    finished = _done(client, job)
    assert finished.succeeded and finished.total_items == 3 and finished.failed_items == 1
    assert client.products(["KOK-1006"])[0].name == "Durkslag stål"
    writes = _shop(sandbox)["writes"]
    assert writes["products_created"] == {"KOK-1006": 1}
    assert writes["products_updated"] == {"KOK-1001": 1}


def test_ordinary_and_campaign_prices_go_to_their_price_lists(client, sandbox):
    _done(
        client,
        client.import_price_list(
            "KAMPANJ-VAR",
            "Vårkampanj",
            valid_from=datetime.date(2027, 3, 1),
            valid_to=datetime.date(2027, 3, 31),
        ),
    )
    _done(
        client,
        client.import_prices(
            [
                NewShopPrice("MAT-2001", "STANDARD", Decimal("92.00")),
                NewShopPrice("MAT-2001", "KAMPANJ-VAR", Decimal("79.00"), Decimal("92.00")),
            ]
        ),
    )

    lists = {p.code: p for p in client.price_lists()}
    prices = {p.price_list_code: p for p in client.prices(["MAT-2001"])}
    assert not lists["STANDARD"].is_campaign and lists["KAMPANJ-VAR"].is_campaign
    assert lists["KAMPANJ-VAR"].valid_to == datetime.date(2027, 3, 31)
    assert prices["STANDARD"].price == Decimal("92.00")
    assert (prices["KAMPANJ-VAR"].price, prices["KAMPANJ-VAR"].catalog_price) == (
        Decimal("79.00"),
        Decimal("92.00"),
    )


def test_stock_per_warehouse_tells_what_is_reserved_by_open_orders(client, sandbox):
    _done(client, client.import_stock([NewShopStock("KOK-1001", "MAIN", "A", Decimal("40"))]))

    levels = {(s.warehouse_code, s.location_code): s for s in client.stock(["KOK-1001"])}

    # Order 1001 (confirmed) holds one; 1007 is cancelled and holds nothing.
    main = levels[("MAIN", "A")]
    assert (main.on_hand, main.reserved, main.available) == (Decimal(40), Decimal(1), Decimal(39))
    assert levels[("STORE", "1")].available == Decimal(4)
    assert _shop(sandbox)["writes"]["stock_updated"] == {"KOK-1001@MAIN/A": 1}


def test_a_price_for_an_unknown_price_list_is_reported_not_lost(client, sandbox):
    job = client.import_prices([NewShopPrice("MAT-2001", "NOPE", Decimal("1"))])

    finished = _done(client, job)

    assert job.messages == ["MAT-2001: no price list 'NOPE'."]
    assert (finished.status, finished.succeeded) == ("ValidationFailed", False)


def test_a_multishop_client_lists_its_channels_and_orders_carry_theirs(client, sandbox):
    sandbox.add_orders(NORRSKEN, {"OrderNo": "OUT-1", "ApplicationId": 1002})

    channels = {c.id: c.name for c in client.channels()}
    [outlet] = client.orders_by_number(["OUT-1"])

    assert channels == {"1001": "Norrsken Hem & Kök", "1002": "Norrsken Outlet"}
    assert outlet.channel == "1002"


def test_an_import_the_shop_rejects_names_the_field(client, sandbox):
    with pytest.raises(ValidationFailed) as raised:
        client.request("POST", "/commerce/connect/4.0/Product/ImportOnhands", json_body={})

    assert raised.value.field == "SkuOnhands"
