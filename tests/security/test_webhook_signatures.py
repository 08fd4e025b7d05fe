"""Webhook signatures: only the shop's own secret signs for it (not a wrong one, not another
shop's, not an empty one), and both secret comparisons — the address token and the body's
signature — are constant-time, so timing tells a forger nothing."""

from __future__ import annotations

import hmac

import pytest
from django.test import Client

from integrator import webhooks
from integrator.models import WebhookEvent
from integrator.webhooks import webhook_url
from tests import factories
from tests.fuzz.test_webhook_bodies import signature

pytestmark = pytest.mark.django_db
BODY = b'{"id": 820982911946154508, "name": "#1001"}'


def _woocommerce_shop(secret: str):
    owner = factories.customer()
    shop = factories.connection(owner, "woocommerce", credentials={"webhook_secret": secret})
    factories.integration(owner, factories.connection(owner, "visma"), [shop])
    return shop


def _deliver(shop, signed_with: str, delivery: str = "77"):
    return Client().post(
        webhook_url(shop),
        data=BODY,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Signature": signature(signed_with, BODY),
            "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Topic": "order.created",
        },
    )


def test_only_the_shops_own_secret_signs_for_it():
    ours = _woocommerce_shop("our-webhook-secret")
    theirs = _woocommerce_shop("their-webhook-secret")

    assert _deliver(ours, "wrong-secret").status_code == 401
    assert _deliver(ours, "their-webhook-secret").status_code == 401
    assert _deliver(ours, "").status_code == 401
    assert not WebhookEvent.objects.exists()
    assert _deliver(ours, "our-webhook-secret").status_code == 200
    assert _deliver(theirs, "their-webhook-secret").status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_a_shop_without_a_secret_accepts_no_signature_at_all():
    shop = _woocommerce_shop("")
    assert _deliver(shop, "").status_code == 401
    assert _deliver(shop, "anything").status_code == 401
    assert not WebhookEvent.objects.exists()


def test_both_comparisons_are_constant_time(monkeypatch):
    shop = _woocommerce_shop("our-webhook-secret")
    compared: list[str] = []
    real_digest, real_compare = hmac.compare_digest, webhooks.constant_time_compare

    def digest(a, b):
        compared.append("signature")
        return real_digest(a, b)

    def token(a, b):
        compared.append("address")
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", digest)
    monkeypatch.setattr(webhooks, "constant_time_compare", token)

    assert _deliver(shop, "our-webhook-secret").status_code == 200
    assert compared == ["address", "signature"]
