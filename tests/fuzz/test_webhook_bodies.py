"""The webhook endpoint under random input: whatever arrives, the answer is 401 (not signed with
this shop's secret), 413 (too large), 400 (signed, but no JSON object: the shop is told why) or
200 (an event, recorded once per delivery id) — never a crash, and nothing is kept unless 200."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrator.models import SyncJob, WebhookEvent
from integrator.webhooks import MAX_BODY_BYTES, webhook_url
from tests import factories

pytestmark = pytest.mark.django_db
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SECRETS = {"shopify": "shpss_fuzz_client_secret_1", "woocommerce": "wc_fuzz_webhook_secret_2"}
HEADERS = {
    "shopify": ("X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id", "X-Shopify-Topic"),
    "woocommerce": ("X-WC-Webhook-Signature", "X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Topic"),
}
TOPIC = {"shopify": "orders/create", "woocommerce": "order.created"}


def signature(secret: str, body: bytes) -> str:
    """How both shops sign: base64 of the HMAC-SHA256 of the raw body, keyed with the secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _shop(platform: str, secret: str = ""):
    owner = factories.customer()
    key = "client_secret" if platform == "shopify" else "webhook_secret"
    shop = factories.connection(owner, platform, credentials={key: secret or SECRETS[platform]})
    erp = factories.connection(owner, "visma")
    factories.integration(owner, erp, [shop])
    return shop


def _post(shop, body: bytes, *, signed_with: str | None, webhook_id: str = "d-1"):
    sig_header, id_header, topic_header = HEADERS[shop.platform]
    headers = {id_header: webhook_id, topic_header: TOPIC[shop.platform]}
    if signed_with is not None:
        headers[sig_header] = signature(signed_with, body)
    return Client().post(
        webhook_url(shop), data=body, content_type="application/json", headers=headers
    )


def _nothing_kept() -> bool:
    return not WebhookEvent.objects.exists() and not SyncJob.objects.exists()


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode("utf-16")),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"", b"{", b'{"id": 1', b"[]", b"null", b"\xff\xfe{", b"[" * 5000, b'{"id": 1e999}']
    ),
)


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_random_bodies_get_a_clear_answer_and_keep_nothing_unless_accepted(platform):
    shop = _shop(platform)
    other_secret = SECRETS[platform] + "-other"
    _shop(platform, secret=other_secret)

    @SETTINGS
    @given(
        body=bodies,
        signer=st.sampled_from(["own", "none", "wrong", "other shop"]),
        webhook_id=st.text(min_size=1, max_size=150).filter(lambda t: t.isprintable()),
    )
    def check(body: bytes, signer: str, webhook_id: str) -> None:
        WebhookEvent.objects.all().delete()
        SyncJob.objects.all().delete()
        secret = {
            "own": SECRETS[platform],
            "none": None,
            "wrong": "not-the-secret",
            "other shop": other_secret,
        }[signer]
        answer = _post(shop, body, signed_with=secret, webhook_id=webhook_id.strip() or "x")

        if signer != "own":
            # WooCommerce's unsigned ping of a new webhook is answered, and keeps nothing.
            ping = (
                platform == "woocommerce" and signer == "none" and body.startswith(b"webhook_id=")
            )
            assert answer.status_code == (200 if ping else 401)
            assert _nothing_kept()
        elif not _is_json_object(body):
            assert answer.status_code == 400
            assert answer.content.decode().startswith("The body is")
            assert _nothing_kept()
        else:
            assert answer.status_code == 200
            assert WebhookEvent.objects.count() == 1
            again = _post(shop, body, signed_with=secret, webhook_id=webhook_id.strip() or "x")
            assert again.status_code == 200 and WebhookEvent.objects.count() == 1
            assert SyncJob.objects.filter(kind="orders").count() == 1

    check()


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_malformed_json_with_a_valid_signature_is_a_clear_400(platform):
    shop = _shop(platform)
    body = b'{"id": 820982911946154508, "line_items": [}'

    answer = _post(shop, body, signed_with=SECRETS[platform])

    assert answer.status_code == 400
    assert answer.content.decode() == "The body is not JSON: Expecting value (line 1, column 43)."
    assert _nothing_kept()


def test_a_body_over_the_limit_is_refused_even_when_signed():
    shop = _shop("shopify")
    body = b'{"note": "' + b"x" * MAX_BODY_BYTES + b'"}'

    answer = _post(shop, body, signed_with=SECRETS["shopify"])

    assert answer.status_code == 413
    assert _nothing_kept()


def test_another_shops_secret_does_not_sign_for_this_shop():
    ours, theirs = _shop("shopify"), _shop("shopify", secret="their-own-secret")
    body = b'{"id": 1}'

    assert _post(ours, body, signed_with="their-own-secret").status_code == 401
    assert _post(theirs, body, signed_with="their-own-secret").status_code == 200
    assert WebhookEvent.objects.get().connection == theirs
