"""Order webhooks from Shopify and WooCommerce queue the orders job, once, and only if signed."""

from __future__ import annotations

import pytest
import requests

from integrator.models import SyncJob, WebhookEvent
from integrator.webhooks import MAX_BODY_BYTES, webhook_url
from shops.sandbox.demo_data import FJALLMODE, demo_connection_any
from tests import factories


def _integration(sandbox, platform: str):
    owner = factories.customer()
    base_url, credentials = demo_connection_any(platform, FJALLMODE, sandbox.url())
    shop = factories.connection(owner, platform, base_url, credentials=credentials)
    erp = factories.connection(owner, "visma", sandbox.url("visma", FJALLMODE))
    return factories.integration(owner, erp, [shop])


def _signed(sandbox, platform: str, **event) -> tuple[dict[str, str], bytes]:
    """A webhook exactly as the shop would sign and send it (headers, raw body)."""
    key = {"shopify": "shop", "woocommerce": "site"}[platform]
    answer = requests.post(
        f"{sandbox.url()}/_sandbox/{platform}/webhook",
        json={key: FJALLMODE, **event},
        timeout=5,
    )
    answer.raise_for_status()
    message = answer.json()
    return message["headers"], message["body"].encode()


def _deliver(client, integration, headers: dict[str, str], body: bytes):
    return client.post(
        webhook_url(integration.shops.get()),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k.lower() != "content-type"},
    )


def _orders_jobs(integration):
    return SyncJob.objects.filter(integration=integration, kind="orders")


@pytest.mark.django_db
def test_it_queues_the_orders_job_once_when_shopify_delivers_twice(client, sandbox):
    integration = _integration(sandbox, "shopify")
    headers, body = _signed(sandbox, "shopify", topic="orders/create", order=1001)

    first = _deliver(client, integration, headers, body)

    assert first.status_code == 200
    job = _orders_jobs(integration).get()
    assert job.trigger == SyncJob.Trigger.WEBHOOK
    # The job ran and finished; Shopify then delivers the same webhook again.
    _orders_jobs(integration).update(status=SyncJob.Status.SUCCEEDED)

    again = _deliver(client, integration, headers, body)

    assert again.status_code == 200
    assert _orders_jobs(integration).count() == 1
    assert WebhookEvent.objects.get().jobs == [job.pk]


@pytest.mark.django_db
def test_it_queues_the_orders_job_for_a_signed_woocommerce_webhook(client, sandbox):
    integration = _integration(sandbox, "woocommerce")
    order_id = sandbox.state()["woocommerce"]["sites"][FJALLMODE]["orders"][0]["id"]
    headers, body = _signed(sandbox, "woocommerce", topic="order.created", resource_id=order_id)

    assert _deliver(client, integration, headers, body).status_code == 200
    assert _deliver(client, integration, headers, body).status_code == 200

    assert _orders_jobs(integration).count() == 1
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_a_bad_signature_gets_401_and_queues_nothing(client, sandbox, platform):
    integration = _integration(sandbox, platform)
    if platform == "shopify":
        event = {"topic": "orders/create"}
    else:
        order_id = sandbox.state()["woocommerce"]["sites"][FJALLMODE]["orders"][0]["id"]
        event = {"topic": "order.created", "resource_id": order_id}
    headers, body = _signed(sandbox, platform, **event)
    forged = body.replace(b"SEK", b"EUR") if b"SEK" in body else body + b" "

    answer = _deliver(client, integration, headers, forged)

    assert answer.status_code == 401
    assert answer.content == b""  # nothing that helps a forger
    assert not _orders_jobs(integration).exists()
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_it_takes_only_posts_of_a_sensible_size_to_a_known_url(client, sandbox):
    integration = _integration(sandbox, "shopify")
    headers, body = _signed(sandbox, "shopify", topic="orders/create")
    url = webhook_url(integration.shops.get())

    assert client.get(url).status_code == 405
    assert _deliver(client, integration, headers, b"x" * (MAX_BODY_BYTES + 1)).status_code == 413
    guessed = url.replace(url.split("-")[-1], "0" * 40 + "/")
    assert client.post(guessed, data=body, content_type="application/json").status_code == 404
    assert not _orders_jobs(integration).exists()


@pytest.mark.django_db
def test_the_url_names_no_customer(sandbox):
    integration = _integration(sandbox, "shopify")
    url = webhook_url(integration.shops.get())

    assert integration.customer.name.split()[0].lower() not in url.lower()
    assert url.startswith("/webhooks/") and len(url.rsplit("-", 1)[-1].strip("/")) == 40


def test_support_finds_the_delivery_address_on_the_connection_page(admin_client, settings):
    from django.urls import reverse

    from shops.webhooks import webhook_url
    from tests import factories

    settings.SITE_URL = "https://integrationer.example.se"
    owner = factories.customer()
    shop = factories.connection(owner, "shopify", credentials={"client_secret": "s"})
    html = admin_client.get(
        reverse("admin:shops_connection_change", args=[shop.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "https://integrationer.example.se" + webhook_url(shop) in html
