"""Support staff retry single failed orders from the admin: a new job with only those orders,
linked to the one they failed in, started by them."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from integrator import services
from integrator.models import SyncJob
from shops.sandbox.demo_data import NORRSKEN
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration


def _run(job: SyncJob) -> SyncJob:
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_it_retries_the_selected_failed_orders_only_and_they_land_once(
    sandbox, admin_client, admin_user
):
    integration = _jetshop_integration(sandbox)
    first, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    first = _run(first)
    failed = first.items.get(outcome="failed")  # the order with an article Visma lacks
    done = first.items.filter(outcome="transferred").first()
    # Support adds the article in Visma, then retries that one order.
    requests.post(
        f"{sandbox.root}/_sandbox/visma/articles",
        json={"company": NORRSKEN, "articles": [{"Number": "KOK-1004", "VatRate": 25}]},
        timeout=5,
    ).raise_for_status()

    response = admin_client.post(
        reverse("admin:integrator_syncitem_changelist"),
        {"action": "retry_items", "_selected_action": [failed.pk, done.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    retry = SyncJob.objects.get(retry_of=first)
    assert retry.options["only"] == [failed.key]  # the transferred one is not looked at again
    assert retry.trigger == SyncJob.Trigger.RETRY and retry.started_by == admin_user
    assert f"retried as job #{retry.pk}" in response.content.decode()
    retry = _run(retry)
    assert list(retry.items.values_list("key", "outcome")) == [(failed.key, "transferred")]
    references = [i["YourReference"] for i in sandbox.state()["visma"]["customerinvoices"]]
    assert len(references) == len(set(references)) == first.transferred + 1


@pytest.mark.django_db
def test_it_retries_nothing_when_no_selected_item_failed(sandbox):
    integration = _jetshop_integration(sandbox)
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    job = _run(job)
    transferred = list(job.items.filter(outcome="transferred").values_list("key", flat=True))

    assert services.job_retry_items(job=job, keys=transferred, user=None) is None
    assert not SyncJob.objects.filter(retry_of=job).exists()
