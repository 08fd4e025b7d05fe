"""The Shopify client against the Shopify sandbox, over real HTTP."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests

from billing.models import Customer
from shops.clients.errors import AuthExpired, OutcomeUnknown, RateLimited, ValidationFailed
from shops.clients.registry import client_for
from shops.clients.shopify import ShopifyClient, StaleStock
from shops.clients.types import ShopPriceChange, ShopStockChange
from shops.models import Connection
from shops.sandbox.shopify import ShopifySandbox
from shops.sandbox.shopify_data import FJALLMODE, LOCATIONS
from shops.webhooks import verify_shopify_hmac

pytestmark = pytest.mark.django_db

GOTEBORG = LOCATIONS[0][0]
GRAPHQL = "/shopify/fjallmode/admin/api/2025-01/graphql.json"


def fjallmode_connection(
    sandbox_url: str, platform: str = Connection.Platform.SHOPIFY
) -> Connection:
    owner, _created = Customer.objects.get_or_create(
        organisation_number="556677-8899", defaults={"name": "Fjällmode AB"}
    )
    base_url, credentials = ShopifySandbox.demo_connection(FJALLMODE, sandbox_url)
    connection = Connection(customer=owner, name=platform, platform=platform, base_url=base_url)
    connection.credentials = credentials
    connection.save()
    return connection


def shopify_hook(root: str, action: str, **body: Any) -> dict[str, Any]:
    response = requests.post(
        f"{root}/_sandbox/shopify/{action}", json={"shop": FJALLMODE, **body}, timeout=5
    )
    response.raise_for_status()
    return response.json()


def shop_state(sandbox) -> dict[str, Any]:
    return sandbox.state()["shopify"]["shops"][FJALLMODE]


@pytest.fixture
def shopify_connection(sandbox_url: str) -> Connection:
    return fjallmode_connection(sandbox_url)


@pytest.fixture
def client(shopify_connection: Connection) -> ShopifyClient:
    return client_for(shopify_connection)


def all_orders(client: ShopifyClient) -> dict[str, Any]:
    return {o.order_number: o for page in client.iter_orders() for o in page.orders}


# --- orders ------------------------------------------------------------------------------------


def test_it_reads_every_order_oldest_first_following_shopifys_page_cursor(client, sandbox):
    pages = list(client.iter_orders("", page_size=5))

    numbers = [order.order_number for page in pages for order in page.orders]
    assert numbers == [str(n) for n in range(1001, 1013)]
    assert [len(page.orders) for page in pages] == [5, 5, 2]
    sent = [e["body"]["variables"] for e in sandbox.requests("shopify")]
    assert [v["after"] is not None for v in sent] == [False, True, True]
    assert {v["query"] for v in sent} == {None}


def test_it_continues_from_the_cursor_and_sees_only_new_or_changed_orders(client, sandbox):
    cursor = list(client.iter_orders())[-1].next_cursor
    nothing_new = client.orders_page(cursor)
    assert nothing_new.orders == [] and nothing_new.next_cursor == cursor

    shopify_hook(
        sandbox.root,
        "orders",
        orders=[
            {"number": 1008, "displayFinancialStatus": "PAID"},  # captured in Shopify's admin
            {"number": 1013, "lines": [["FM-2001-M", 1]]},
        ],
    )
    page = client.orders_page(cursor)

    assert [(o.order_number, o.status) for o in page.orders] == [("1008", "PAID"), ("1013", "PAID")]
    assert client.orders_page(page.next_cursor).orders == []


def test_an_order_changed_in_the_same_second_as_the_last_one_read_is_not_lost(client, sandbox):
    cursor = list(client.iter_orders())[-1].next_cursor
    last_update = next(o for o in shop_state(sandbox)["orders"] if o["name"] == "#1012")[
        "updatedAt"
    ]

    shopify_hook(
        sandbox.root,
        "orders",
        orders=[{"number": 1010, "updatedAt": last_update, "displayFinancialStatus": "REFUNDED"}],
    )

    assert [(o.order_number, o.status) for o in client.orders_page(cursor).orders] == [
        ("1010", "REFUNDED")
    ]


def test_it_converts_tax_inclusive_prices_to_the_ore(client, sandbox):
    order = client.orders_by_number(["1005"])[0]

    # Three books at 249 kr incl. 6 % VAT: Shopify taxed the line 42.28, so 704.72 net.
    book, hat, shipping = order.rows
    assert (book.article_number, book.quantity, book.vat_rate) == ("FM-9001", 3, 6)
    assert book.unit_price == Decimal("234.9067")
    assert (hat.unit_price, hat.vat_rate) == (Decimal("239.20"), 25)
    assert (shipping.is_shipping, shipping.unit_price, shipping.vat_rate) == (
        True,
        Decimal("39.20"),
        25,
    )
    rebuilt = sum(
        (
            (
                r.unit_price * r.quantity * (1 - r.discount_percent / 100) * (1 + r.vat_rate / 100)
            ).quantize(Decimal("0.01"), ROUND_HALF_UP)
            for r in order.rows
        ),
        Decimal("0"),
    )
    assert order.total_incl_vat == rebuilt == Decimal("1095.00")


def test_it_keeps_a_percentage_discount_as_a_discount(client, sandbox):
    order = client.orders_by_number(["#1004"])[0]

    sweater = order.rows[0]
    assert (sweater.unit_price, sweater.discount_percent, sweater.quantity) == (
        Decimal("719.20"),
        Decimal("10.00"),
        2,
    )
    assert order.total_incl_vat == Decimal("1667.20")  # 2 × 899 − 10 % + 49 shipping


def test_it_maps_a_company_order_with_its_numbers_and_addresses(client, sandbox):
    order = client.orders_by_id([str(6_101_003)])[0]

    customer = order.customer
    assert (customer.is_company, customer.name) == (True, "Bergsguiden i Jämtland AB")
    assert (customer.organisation_number, customer.vat_number) == ("559012-3456", "SE559012345601")
    assert (customer.billing.city, customer.billing.country_code) == ("Östersund", "SE")
    assert order.order_number == "1003" and order.currency == "SEK"
    assert order.created_at.tzinfo is not None


def test_cancelled_orders_read_as_cancelled(client, sandbox):
    assert client.orders_by_number(["1007"])[0].status == "Cancelled"


def test_a_revoked_token_means_the_merchant_must_reconnect(shopify_connection, sandbox):
    shopify_connection.update_credentials(access_token="shpat_uninstalled")

    with pytest.raises(AuthExpired):
        ShopifyClient(shopify_connection).orders_page()


def test_the_access_token_never_reaches_the_job_log(client, sandbox):
    client.orders_page()

    assert client.last_exchange.request_headers["X-Shopify-Access-Token"] == "[redacted]"


# --- throttling -----------------------------------------------------------------------------------


def test_a_throttled_query_waits_for_the_bucket_to_refill_and_succeeds(client, sandbox):
    shopify_hook(sandbox.root, "throttle", available=0, restore_rate=4000)

    page = client.orders_page()

    assert len(page.orders) == 10
    assert shop_state(sandbox)["throttled"] == 1


def test_told_not_to_wait_a_throttled_query_says_when_to_try_again(shopify_connection, sandbox):
    shopify_hook(sandbox.root, "throttle", available=100, restore_rate=50)
    client = ShopifyClient(shopify_connection, wait_when_throttled=False)

    with pytest.raises(RateLimited) as raised:
        client.orders_page()

    # The query asks for 642 points; 542 are missing at 50 a second.
    assert raised.value.retry_after == pytest.approx(542 / 50, abs=0.1)


def test_it_waits_before_a_query_the_bucket_could_not_pay_for(client, sandbox):
    shopify_hook(sandbox.root, "throttle", maximum=1000, available=700, restore_rate=1000)
    client.orders_page()  # asks for 642, leaving too little for the same query again
    assert client.bucket.available < 642

    started = time.monotonic()
    client.orders_page()

    assert time.monotonic() - started > 0.05  # it paused rather than be refused
    assert shop_state(sandbox)["throttled"] == 0


# --- writes ---------------------------------------------------------------------------------------


def test_a_refused_price_names_the_field(client, sandbox):
    socks = client.variants_by_sku(["FM-1001"])["FM-1001"]

    with pytest.raises(ValidationFailed) as raised:
        client.set_prices([ShopPriceChange(socks.product_id, socks.variant_id, Decimal("-1"))])

    assert raised.value.field == "variants.0.price"
    assert "greater than or equal to 0" in raised.value.message


def test_it_sets_prices_and_was_prices(client, sandbox):
    sweater = client.variants_by_sku(["FM-2001-M"])["FM-2001-M"]
    assert (sweater.price, sweater.compare_at_price) == (Decimal("899.00"), Decimal("1099.00"))

    client.set_prices(
        [ShopPriceChange(sweater.product_id, sweater.variant_id, Decimal("799.00"), None)]
    )

    again = client.variants_by_sku(["FM-2001-M"])["FM-2001-M"]
    assert (again.price, again.compare_at_price) == (Decimal("799.00"), None)


def test_a_write_that_times_out_is_an_unknown_outcome(client, sandbox):
    socks = client.variants_by_sku(["FM-1001"])["FM-1001"]
    shopify_hook(sandbox.root, "faults", operation="productVariantsBulkUpdate", faults=["timeout"])

    with pytest.raises(OutcomeUnknown):
        client.set_prices([ShopPriceChange(socks.product_id, socks.variant_id, Decimal("139"))])

    wait_for(lambda: sandbox.create_calls("shopify", "prices").get("FM-1001") == 1)


def test_a_read_that_times_out_is_simply_read_again(client, sandbox):
    sandbox.fail_next("POST", GRAPHQL, "timeout")

    assert "FM-1101" in client.variants_by_sku(["FM-1101"])


def test_stock_compare_and_set_does_not_overwrite_a_sale_made_meanwhile(client, sandbox):
    socks = client.variants_by_sku(["FM-1001"])["FM-1001"]
    goteborg = next(level for level in socks.stock if level.location_id == GOTEBORG)
    assert goteborg.available == 40
    shopify_hook(sandbox.root, "stock", sku="FM-1001", location_id=GOTEBORG, delta=-1)  # a sale

    with pytest.raises(StaleStock) as raised:
        client.set_stock([ShopStockChange(socks.inventory_item_id, GOTEBORG, 50, expected=40)])

    assert raised.value.field == "input.quantities.0.compareQuantity"
    fresh = client.variants_by_sku(["FM-1001"])["FM-1001"].stock[0]
    assert fresh.available == 39  # the sale still counts
    client.set_stock([ShopStockChange(socks.inventory_item_id, GOTEBORG, 49, expected=39)])
    assert client.variants_by_sku(["FM-1001"])["FM-1001"].stock[0].available == 49
    assert sandbox.create_calls("shopify", "inventory") == {"FM-1001@Lager Göteborg": 1}


def test_a_fulfilment_whose_answer_was_lost_is_not_made_twice(client, sandbox):
    shopify_hook(sandbox.root, "faults", operation="fulfillmentCreate", faults=["timeout"])

    with pytest.raises(OutcomeUnknown):
        client.fulfil_order(
            "6101012", tracking_number="00370712345678", tracking_company="PostNord"
        )
    wait_for(lambda: sandbox.create_calls("shopify", "fulfillments").get("#1012") == 1)
    again = client.fulfil_order("6101012", tracking_number="00370712345678")

    assert again.startswith("gid://shopify/Fulfillment/")
    assert sandbox.create_calls("shopify", "fulfillments") == {"#1012": 1}
    assert shop_state(sandbox)["notifications"] == 1


def test_it_captures_an_authorised_payment_once(client, sandbox):
    first = client.capture_payment("6101008")
    second = client.capture_payment("6101008")

    assert first == second
    assert sandbox.create_calls("shopify", "captures") == {"#1008": 1}
    assert client.orders_by_number(["1008"])[0].status == "PAID"


# --- webhooks ------------------------------------------------------------------------------------


def test_a_webhook_is_accepted_only_with_shopifys_signature(shopify_connection, sandbox):
    message = shopify_hook(sandbox.root, "webhook", topic="orders/updated", order=1004)
    body, signature = message["body"].encode(), message["headers"]["X-Shopify-Hmac-Sha256"]
    secret = shopify_connection.credentials["client_secret"]

    assert verify_shopify_hmac(secret, body, signature)
    assert not verify_shopify_hmac(secret, body.replace(b"#1004", b"#1005"), signature)
    assert not verify_shopify_hmac("another-apps-secret", body, signature)
    assert not verify_shopify_hmac(secret, body, None)


def wait_for(condition, timeout: float = 3.0) -> None:
    """Until the sandbox has finished the work the client gave up waiting for."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never finished the write"
        time.sleep(0.05)
