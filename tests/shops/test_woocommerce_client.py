"""The WooCommerce client against the WooCommerce sandbox, over real HTTP."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from billing.models import Customer
from shops.clients.errors import AuthExpired, OutcomeUnknown, ValidationFailed
from shops.clients.registry import client_for
from shops.clients.types import ShopPriceChange, ShopStockChange
from shops.clients.woocommerce import CampaignPrice, WooCommerceClient
from shops.models import Connection
from shops.sandbox.woocommerce import WooCommerceSandbox
from shops.sandbox.woocommerce_data import FJALLMODE, read_only_key
from shops.webhooks import verify_woocommerce_signature

pytestmark = pytest.mark.django_db

API = f"/woocommerce/{FJALLMODE}/wp-json/wc/v3"
BY_MODIFIED = ["1201", "1203", "1202", "1205", "1206", "1204", "1207", "1208"]


@pytest.fixture
def woo_connection(sandbox_url: str) -> Connection:
    owner, _created = Customer.objects.get_or_create(
        organisation_number="556677-8899", defaults={"name": "Fjällmode AB"}
    )
    base_url, credentials = WooCommerceSandbox.demo_connection(FJALLMODE, sandbox_url)
    connection = Connection(
        customer=owner,
        name="WooCommerce",
        platform=Connection.Platform.WOOCOMMERCE,
        base_url=base_url,
    )
    connection.credentials = credentials
    connection.save()
    return connection


@pytest.fixture
def client(woo_connection: Connection) -> WooCommerceClient:
    return client_for(woo_connection)


def hook(sandbox: Any, action: str, **body: Any) -> Any:
    response = requests.post(
        f"{sandbox.root}/_sandbox/woocommerce/{action}",
        json={"site": FJALLMODE, **body},
        timeout=5,
    )
    response.raise_for_status()
    return response.json()


def site(sandbox: Any) -> dict[str, Any]:
    return sandbox.state()["woocommerce"]["sites"][FJALLMODE]


def sandbox_item(sandbox: Any, sku: str) -> dict[str, Any]:
    state = site(sandbox)
    items = state["products"] + [v for vs in state["variations"].values() for v in vs]
    return next(i for i in items if i["sku"] == sku)


def order(client: WooCommerceClient, number: str):
    return client.orders_by_number([number])[0]


# --- orders -----------------------------------------------------------------------------------


def test_it_reads_every_order_oldest_first_across_pages(client, sandbox):
    pages = list(client.iter_orders("", page_size=3))

    numbers = [o.order_number for page in pages for o in page.orders]
    assert numbers == BY_MODIFIED
    # 1207 and 1208 were modified in the same second; the sandbox lists ties newest id first,
    # and the cursor still ends on the higher id.
    assert pages[-1].next_cursor == "2026-11-13T12:00:00|1208"
    listed = [r for r in sandbox.requests("woocommerce") if r["path"].endswith("/orders")]
    assert all(r["query"]["orderby"] == "modified" for r in listed)
    assert client.orders_page(pages[-1].next_cursor).orders == []


def test_a_second_split_across_a_page_boundary_is_neither_lost_nor_repeated(client, sandbox):
    numbers = [o.order_number for page in client.iter_orders("", page_size=1) for o in page.orders]

    assert numbers == BY_MODIFIED
    # The tie filled a whole page, so the client read on through X-WP-TotalPages.
    pages_asked = {r["query"].get("page") for r in sandbox.requests("woocommerce")}
    assert "2" in pages_asked


def test_it_continues_from_the_cursor_and_sees_only_new_or_changed_orders(client, sandbox):
    cursor = list(client.iter_orders())[-1].next_cursor
    hook(
        sandbox,
        "orders",
        orders=[
            {"id": 1201, "status": "completed"},
            {"line_items": [{"sku": "FM-BOK-002", "quantity": 1}], "status": "processing"},
        ],
    )

    page = client.orders_page(cursor)

    assert [o.order_number for o in page.orders][0] == "1201"
    assert [o.status for o in page.orders] == ["completed", "processing"]
    assert client.orders_page(page.next_cursor).orders == []


def test_it_takes_vat_rates_from_the_orders_tax_lines(client, sandbox):
    books_and_fleece = order(client, "1202")

    assert [(r.article_number, r.vat_rate, r.vat_rate_known) for r in books_and_fleece.rows] == [
        ("FM-BOK-001", Decimal("6"), True),
        ("FM-FLEECE-01", Decimal("25"), True),
        ("", Decimal("0"), True),  # free shipping: no tax charged, none claimed
    ]
    books = books_and_fleece.rows[0]
    # 2 × 249.00 incl. 6 % VAT: WooCommerce keeps 469.81 excl. VAT for the line.
    assert books.unit_price * books.quantity == Decimal("469.81")
    assert books_and_fleece.total_incl_vat == Decimal("1797.00")
    assert books_and_fleece.customer.shop_customer_id == "8"


def test_a_coupon_becomes_a_discount_and_the_company_is_the_customer(client, sandbox):
    boots = order(client, "1203")

    row, shipping = boots.rows
    assert (row.article_number, row.quantity, row.unit_price, row.discount_percent) == (
        "FM-KANGA-42",
        Decimal("2"),
        Decimal("1596.00"),
        Decimal("10.00"),
    )
    assert (shipping.is_shipping, shipping.unit_price, shipping.vat_rate) == (
        True,
        Decimal("63.20"),
        Decimal("25"),
    )
    assert boots.customer.is_company and boots.customer.name == "Nilssons Fjällturer AB"
    assert boots.customer.organisation_number == "556912-3454"
    assert boots.customer.billing.city == "Kiruna"
    assert boots.total_incl_vat == Decimal("3670.00")


def test_a_line_whose_rate_the_order_does_not_give_is_marked_not_guessed(client, sandbox):
    added = hook(sandbox, "orders", orders=[{"line_items": [{"sku": "FM-ULL-L", "quantity": 1}]}])
    stored = added["orders"][0]
    # An older WooCommerce (before 5.7) has no rate_percent on its tax lines.
    tax_lines = [{k: v for k, v in t.items() if k != "rate_percent"} for t in stored["tax_lines"]]
    hook(sandbox, "orders", orders=[{"id": stored["id"], "tax_lines": tax_lines}])

    rows = client.orders_by_id([str(stored["id"])])[0].rows

    assert [(r.article_number, r.vat_rate_known) for r in rows] == [
        ("FM-ULL-L", False),
        ("", False),
    ]


def test_a_refunded_and_a_gift_order_keep_their_status_and_addresses(client, sandbox):
    refunded, gift = client.orders_by_id(["1204", "1207"])

    assert refunded.status == "refunded"
    assert gift.customer.billing.city == "Östersund"
    assert (gift.customer.shipping.name, gift.customer.shipping.city) == ("Gustav Svensson", "Åre")


def test_an_order_numbered_by_a_plugin_is_found_by_its_number(client, sandbox):
    hook(
        sandbox,
        "orders",
        orders=[
            {
                "id": 1300,
                "number": "FM-2026-0042",
                "line_items": [{"sku": "FM-BOK-001", "quantity": 1}],
            }
        ],
    )

    found = client.orders_by_number(["FM-2026-0042", "1205"])

    assert sorted(o.shop_order_id for o in found) == ["1205", "1300"]


# --- errors, limits and timeouts --------------------------------------------------------------


def test_it_waits_out_a_hosts_429_on_a_read(client, sandbox):
    hook(sandbox, "config", rate_limit=1, rate_window_s=1)
    client.orders_page("", 2)
    started = time.monotonic()

    client.orders_page("", 2)

    assert time.monotonic() - started >= 0.9  # Retry-After: 1
    assert site(sandbox)["throttled"] >= 1


def test_it_names_the_field_woocommerce_rejects(client, sandbox):
    with pytest.raises(ValidationFailed) as raised:
        client.update_order_status("1201", "shipped")

    assert raised.value.field == "status"
    assert "rest_invalid_param" in raised.value.message
    assert raised.value.exchange["request_headers"]["Authorization"] == "[redacted]"
    assert order(client, "1201").status == "processing"


def test_a_write_that_times_out_is_outcome_unknown_and_its_note_is_not_sent_twice(client, sandbox):
    sandbox.fail_next("POST", f"{API}/orders/1201/notes", "timeout")

    with pytest.raises(OutcomeUnknown):
        client.fulfil_order(
            "1201", tracking_number="00370712345678901234", tracking_company="PostNord"
        )

    deadline = time.monotonic() + 5
    while not site(sandbox)["create_calls"].get("order_notes") and time.monotonic() < deadline:
        time.sleep(0.05)
    # The retry looks before it writes: the shopper gets one e-mail, not two.
    note_id = client.fulfil_order(
        "1201", tracking_number="00370712345678901234", tracking_company="PostNord"
    )

    assert site(sandbox)["create_calls"]["order_notes"] == {"1201": 1}
    notes = site(sandbox)["notes"]["1201"]
    shopper_notes = [n for n in notes if n["customer_note"]]
    assert [str(n["id"]) for n in shopper_notes] == [note_id]
    assert "00370712345678901234" in shopper_notes[0]["note"]
    assert order(client, "1201").status == "completed"


def test_a_revoked_key_and_a_read_only_key_need_the_merchant(client, woo_connection, sandbox):
    key, secret = read_only_key(FJALLMODE)
    woo_connection.update_credentials(consumer_key=key, consumer_secret=secret)
    read_only = WooCommerceClient(woo_connection)
    assert read_only.orders_page("", 1).orders  # reading is allowed

    with pytest.raises(AuthExpired) as raised:
        read_only.update_order_status("1201", "completed")
    assert raised.value.needs_merchant

    woo_connection.update_credentials(consumer_secret="cs_revoked")
    with pytest.raises(AuthExpired):
        WooCommerceClient(woo_connection).orders_page()


def test_the_key_never_travels_over_plain_http(woo_connection):
    woo_connection.base_url = "http://shop.example.se"

    with pytest.raises(AuthExpired):
        WooCommerceClient(woo_connection).orders_page()


# --- products, stock and prices ---------------------------------------------------------------


def test_it_finds_products_and_variations_by_sku(client, sandbox):
    found = client.variants_by_sku(["FM-FLEECE-01", "FM-ULL-M", "FM-MOSSA-GRA", "NOPE"])

    assert set(found) == {"FM-FLEECE-01", "FM-ULL-M", "FM-MOSSA-GRA"}
    fleece, merino, hat = found["FM-FLEECE-01"], found["FM-ULL-M"], found["FM-MOSSA-GRA"]
    assert (fleece.product_id, fleece.variant_id, fleece.inventory_item_id) == ("103",) * 3
    assert (merino.product_id, merino.variant_id, merino.inventory_item_id) == (
        "110",
        "112",
        "110/112",
    )
    assert (merino.price, merino.compare_at_price) == (Decimal("899.00"), None)
    assert merino.stock[0].available == 20
    # The hat's variations share the stock kept on the variable product.
    assert (hat.inventory_item_id, hat.stock[0].available) == ("130", 30)
    assert client.variation_by_sku("110", "FM-ULL-L").variant_id == "113"


def test_a_sale_between_our_read_and_our_write_is_not_overwritten(client, sandbox, monkeypatch):
    merino = client.variants_by_sku(["FM-ULL-M"])["FM-ULL-M"]
    read = merino.stock[0].available
    send = client.send

    def checkout_first(method: str, url: str, **kwargs: Any) -> requests.Response:
        if method == "POST" and url.endswith("/batch"):
            hook(sandbox, "sell", sku="FM-ULL-M", quantity=2)  # a shopper buys two meanwhile
        return send(method, url, **kwargs)

    monkeypatch.setattr(client, "send", checkout_first)

    after = client.set_stock(
        [ShopStockChange(merino.inventory_item_id, "", quantity=read + 5, expected=read)]
    )

    # The ERP received five; the shop sold two meanwhile: 20 + 5 - 2, not 25.
    assert after == {"110/112": 23}
    assert sandbox_item(sandbox, "FM-ULL-M")["stock_quantity"] == 23


def test_stock_unchanged_since_the_read_is_not_written_and_untracked_stock_is_left(client, sandbox):
    found = client.variants_by_sku(["FM-BOK-001", "FM-VIND-01", "FM-MOSSA-ROD", "FM-MOSSA-GRA"])
    assert found["FM-VIND-01"].stock == []  # the shop does not track stock for it

    after = client.set_stock(
        [
            ShopStockChange(found["FM-BOK-001"].inventory_item_id, "", quantity=40, expected=40),
            ShopStockChange(found["FM-MOSSA-ROD"].inventory_item_id, "", quantity=26, expected=30),
            # the grey hat shares the red one's stock: the same change must not count twice
            ShopStockChange(found["FM-MOSSA-GRA"].inventory_item_id, "", quantity=26, expected=30),
        ]
    )

    assert after == {"130": 26}
    assert not [r for r in sandbox.requests("woocommerce") if r["path"].endswith("/101")]


def test_250_price_changes_go_in_three_batches(client, sandbox):
    new = [
        {"name": f"Sportstrumpa {n}", "sku": f"FM-SOCK-{n:03d}", "regular_price": "99.00"}
        for n in range(250)
    ]
    created = client.batch_products(create=new)
    assert created.requests == 3 and len(created.created) == 250 and not created.errors

    result = client.set_prices(
        [
            ShopPriceChange(v.product_id, v.variant_id, Decimal("79.00"), Decimal("99.00"))
            for v in created.created
        ]
    )

    batches = [r for r in sandbox.requests("woocommerce") if r["path"].endswith("/products/batch")]
    assert [len(r["body"].get("create", []) + r["body"].get("update", [])) for r in batches] == [
        100,
        100,
        50,
        100,
        100,
        50,
    ]
    assert result.requests == 3 and len(result.updated) == 250
    assert result.updated[0].price == Decimal("79.00")
    assert result.updated[0].compare_at_price == Decimal("99.00")
    assert set(sandbox.create_calls("woocommerce", "products").values()) == {1}


def test_a_batch_reports_a_duplicated_sku_per_item(client, sandbox):
    result = client.batch_products(
        create=[
            {"name": "Ny mössa", "sku": "FM-MOSSA-NY"},
            {"name": "Dubblett", "sku": "FM-BOK-001"},
        ]
    )

    assert [v.sku for v in result.created] == ["FM-MOSSA-NY"]
    assert [(e.key, e.code, e.field) for e in result.errors] == [
        ("FM-BOK-001", "product_invalid_sku", "sku")
    ]


def test_a_campaign_price_carries_its_dates(client, sandbox):
    import datetime

    stockholm = datetime.timezone(datetime.timedelta(hours=1))
    client.set_campaign_prices(
        [
            CampaignPrice(
                "110",
                "111",
                Decimal("699.00"),
                datetime.datetime(2026, 12, 26, 0, 0, tzinfo=stockholm),
                datetime.datetime(2027, 1, 6, 23, 59, 59, tzinfo=stockholm),
            )
        ]
    )

    merino = sandbox_item(sandbox, "FM-ULL-S")
    assert merino["sale_price"] == "699.00" and merino["regular_price"] == "899.00"
    assert merino["date_on_sale_from_gmt"] == "2026-12-25T23:00:00"
    assert merino["date_on_sale_to_gmt"] == "2027-01-06T22:59:59"


# --- webhooks ---------------------------------------------------------------------------------


def test_a_webhook_is_verified_and_a_tampered_one_rejected(woo_connection, sandbox):
    delivery = hook(sandbox, "webhook", topic="order.updated", resource_id=1203)
    body = delivery["body"].encode()
    signature = delivery["headers"]["X-WC-Webhook-Signature"]
    secret = woo_connection.credentials["webhook_secret"]

    assert verify_woocommerce_signature(secret, body, signature)
    assert not verify_woocommerce_signature(secret, body.replace(b"3670.00", b"1.00"), signature)
    assert not verify_woocommerce_signature("another-secret", body, signature)
    assert not verify_woocommerce_signature(secret, body, None)


def test_the_sandbox_answers_in_woocommerces_own_shapes(woo_connection, sandbox):
    credentials = woo_connection.credentials
    auth = (credentials["consumer_key"], credentials["consumer_secret"])
    url = f"{woo_connection.base_url}/wp-json/wc/v3"

    listed = requests.get(f"{url}/orders", params={"per_page": 3}, auth=auth, timeout=5)
    assert isinstance(listed.json(), list) and len(listed.json()) == 3
    assert (listed.headers["X-WP-Total"], listed.headers["X-WP-TotalPages"]) == ("8", "3")
    assert 'page=2>; rel="next"' in listed.headers["Link"]

    anonymous = requests.get(f"{url}/orders", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "woocommerce_rest_cannot_view"

    too_many = [{"id": 101, "regular_price": "249.00"}] * 101
    refused = requests.post(
        f"{url}/products/batch", json={"update": too_many}, auth=auth, timeout=5
    )
    assert refused.status_code == 413
    assert refused.json()["code"] == "woocommerce_rest_request_entity_too_large"
