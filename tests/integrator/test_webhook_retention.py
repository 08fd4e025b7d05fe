"""Webhook ids are kept as long as a shop may redeliver, and forgotten after that."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_q.models import Schedule

from integrator import services
from integrator.models import WebhookEvent
from tests.integrator.test_webhooks import _deliver, _integration, _orders_jobs, _signed


@pytest.mark.django_db
def test_a_redelivery_within_shopifys_48_hours_still_queues_nothing_after_the_daily_prune(
    client, sandbox
):
    integration = _integration(sandbox, "shopify")
    headers, body = _signed(sandbox, "shopify", topic="orders/create", order=1001)
    assert _deliver(client, integration, headers, body).status_code == 200
    WebhookEvent.objects.update(received_at=timezone.now() - datetime.timedelta(hours=47))
    _orders_jobs(integration).update(status="succeeded")

    assert services.prune_webhook_events() == 0
    assert _deliver(client, integration, headers, body).status_code == 200
    assert _orders_jobs(integration).count() == 1


@pytest.mark.django_db
def test_ids_older_than_a_week_are_forgotten_by_the_daily_schedule(client, sandbox):
    integration = _integration(sandbox, "shopify")
    for order in (1001, 1002):
        headers, body = _signed(sandbox, "shopify", topic="orders/create", order=order)
        _deliver(client, integration, headers, body)
    old = WebhookEvent.objects.order_by("received_at").first()
    WebhookEvent.objects.filter(pk=old.pk).update(
        received_at=timezone.now() - datetime.timedelta(days=8)
    )

    assert services.prune_webhook_events() == 1
    assert list(WebhookEvent.objects.all()) == [WebhookEvent.objects.exclude(pk=old.pk).get()]
    schedule = Schedule.objects.get(func="integrator.tasks.prune_webhook_events")
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
