"""Order webhooks from Shopify and WooCommerce: verify, deduplicate, queue the orders job.

The endpoint answers fast and does no sync work itself: a webhook only says "something changed",
and the queued orders job reads the order from the shop like every scheduled run does, with the
same exactly-once rules. A webhook that never arrives is caught by the scheduled order transfer
every five minutes (migration 0003), so losing one delays an order, never loses it.

URL: /webhooks/<token>/ per shop connection. The token is the connection's id and an HMAC of it
keyed with SECRET_KEY: not guessable, no customer data, and nothing to store. (Rotating
SECRET_KEY changes every webhook URL; the shops must then be given the new ones.)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrator import services
from integrator.models import SyncJob, WebhookEvent
from shops.models import Connection
from shops.webhooks import (
    verify_shopify_hmac,
    verify_woocommerce_signature,
    webhook_token,
    webhook_url,  # noqa: F401 (where callers have found it)
)

logger = logging.getLogger(__name__)

# Order webhooks are a few kB; anything much larger is not one of them.
MAX_BODY_BYTES = 512 * 1024
ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
}


@dataclass(frozen=True)
class Platform:
    """Where each shop puts what we need, and which credential signs its webhooks."""

    secret_key: str
    signature_header: str
    id_header: str
    topic_header: str
    verify: Callable[[str, bytes, str | None], bool]


PLATFORMS: dict[str, Platform] = {
    Connection.Platform.SHOPIFY: Platform(
        "client_secret",
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Topic",
        verify_shopify_hmac,
    ),
    Connection.Platform.WOOCOMMERCE: Platform(
        "webhook_secret",
        "X-WC-Webhook-Signature",
        "X-WC-Webhook-Delivery-ID",
        "X-WC-Webhook-Topic",
        verify_woocommerce_signature,
    ),
}


def _connection_for(token: str) -> Connection | None:
    pk, _sep, _digest = token.partition("-")
    if not pk.isdigit():
        return None
    connection = Connection.objects.filter(pk=int(pk), platform__in=PLATFORMS).first()
    # Compared even when there is no such connection, so timing says nothing about which exist.
    expected = webhook_token(connection) if connection else f"0-{'0' * 40}"
    if not constant_time_compare(expected, token) or connection is None:
        return None
    return connection


@csrf_exempt
@require_POST
def shop_webhook(request: HttpRequest, token: str) -> HttpResponse:
    connection = _connection_for(token)
    if connection is None or not connection.enabled:
        return HttpResponse(status=404)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse(status=413)

    platform = PLATFORMS[connection.platform]
    signature = request.headers.get(platform.signature_header)
    if (
        connection.platform == Connection.Platform.WOOCOMMERCE
        and not signature
        and body.startswith(b"webhook_id=")
    ):
        # WooCommerce pings a new webhook's URL, unsigned, to see that it answers.
        return HttpResponse(status=200)
    secret = str(connection.credentials.get(platform.secret_key) or "")
    if not platform.verify(secret, body, signature):
        # The reason stays in our log; the sender only learns that it was refused.
        logger.warning("Webhook for connection %s refused: bad or missing signature", connection.pk)
        return HttpResponse(status=401)
    problem = _not_an_event(body)
    if problem:
        # Signed, so it is the shop talking: it may learn what is wrong, and nothing is kept.
        logger.warning("Webhook for connection %s refused: %s", connection.pk, problem)
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")

    # Without an id (never seen from either shop), the body itself tells redeliveries apart.
    webhook_id = (request.headers.get(platform.id_header) or "").strip()[:100]
    webhook_id = webhook_id or "sha256:" + hashlib.sha256(body).hexdigest()[:60]
    topic = (request.headers.get(platform.topic_header) or "").strip()[:100]
    event_received(connection=connection, webhook_id=webhook_id, topic=topic)
    return HttpResponse(status=200)


def _not_an_event(body: bytes) -> str:
    """Why a signed body is not an event either shop sends (a JSON object), or "" if it is."""
    try:
        event = json.loads(body)
    except UnicodeDecodeError:
        return "The body is not UTF-8 text."
    except json.JSONDecodeError as exc:
        return f"The body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except (ValueError, RecursionError):
        return "The body is not JSON we can read."
    if not isinstance(event, dict):
        return "The body is JSON, but not an object."
    return ""


def event_received(*, connection: Connection, webhook_id: str, topic: str) -> WebhookEvent | None:
    """Record the event and queue the orders job of each integration the shop is in; None for
    a redelivery of an event we already have. One transaction: if queueing fails, the event is
    not recorded either, and the shop's redelivery gets another chance."""
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                connection=connection, webhook_id=webhook_id, topic=topic
            )
            if topic in ORDER_TOPICS:
                event.jobs = _queue_orders(connection)
                event.save(update_fields=["jobs"])
    except IntegrityError:
        logger.info("Webhook %s for connection %s delivered again", webhook_id, connection.pk)
        return None
    return event


def _queue_orders(connection: Connection) -> list[int]:
    queued = []
    for integration in connection.shop_integrations.filter(enabled=True):
        try:
            # An orders job already queued or running is returned instead: no pile-up.
            job, _created = services.job_enqueue(
                integration=integration,
                kind=SyncJob.Kind.ORDERS,
                trigger=SyncJob.Trigger.WEBHOOK,
            )
        except services.JobNotAllowed as exc:
            logger.info("Webhook: no orders job for integration %s: %s", integration.pk, exc)
            continue
        queued.append(job.pk)
    return queued
