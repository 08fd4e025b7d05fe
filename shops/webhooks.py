"""Verifying the signatures shops put on the webhooks they send us.

Each function takes the raw request body exactly as received: re-serialised JSON would have other
bytes and never verify. Comparisons are constant-time, so a forger learns nothing from timing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def verify_shopify_hmac(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Shopify-Hmac-Sha256`: base64 of the HMAC-SHA256 of the raw body, keyed with the app's
    client secret."""
    if not secret or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode())


def verify_woocommerce_signature(secret: str, body: bytes, header: str | None) -> bool:
    """`X-WC-Webhook-Signature`: base64 of the HMAC-SHA256 of the raw body, keyed with the
    secret set on the webhook in WooCommerce (Settings → Advanced → Webhooks)."""
    if not secret or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode())
