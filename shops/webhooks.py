"""Verifying the signatures shops put on the webhooks they send us.

Each function takes the raw request body exactly as received: re-serialised JSON would have other
bytes and never verify. Comparisons are constant-time, so a forger learns nothing from timing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.urls import reverse
from django.utils.crypto import salted_hmac

from shops.models import Connection


def _signed_with(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the base64 HMAC-SHA256 of the raw body keyed with `secret`, compared
    in constant time."""
    if not secret or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode())


def verify_shopify_hmac(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Shopify-Hmac-Sha256`, keyed with the app's client secret."""
    return _signed_with(secret, body, header)


def verify_woocommerce_signature(secret: str, body: bytes, header: str | None) -> bool:
    """`X-WC-Webhook-Signature`, keyed with the secret set on the webhook in WooCommerce
    (Settings → Advanced → Webhooks)."""
    return _signed_with(secret, body, header)


# The delivery address of a shop connection's webhooks: its id and an HMAC of it keyed with
# SECRET_KEY, so nothing is stored and nobody can guess another shop's address.
TOKEN_SALT = "integrator.webhooks"
WEBHOOK_PLATFORMS = ("shopify", "woocommerce")


def webhook_token(connection: Connection) -> str:
    digest = salted_hmac(TOKEN_SALT, str(connection.pk), algorithm="sha256").hexdigest()
    return f"{connection.pk}-{digest[:40]}"


def webhook_url(connection: Connection) -> str:
    """The path to give the shop as the webhook's delivery URL (prefix the site's origin)."""
    return reverse("shop-webhook", args=[webhook_token(connection)])
