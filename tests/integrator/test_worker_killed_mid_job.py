"""A worker killed in the middle of a job (SIGKILL: no clean-up, no acknowledgement) must cost
time, never an order: the job is taken over and every order still lands in Visma exactly once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integrator import services
from integrator.models import Link, SyncJob
from tests.integrator.test_order_to_invoice_end_to_end import _finished, _jetshop_integration
from tests.queue_cluster import kill_hard, running_cluster, wait_for


@pytest.mark.queue
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_whose_worker_was_killed_is_taken_over_and_transfers_exactly_once(
    sandbox, monkeypatch
):
    integration = _jetshop_integration(sandbox)
    expected = [
        o
        for o in sandbox.shop_orders(integration.shops.get())
        if o["transferable"] and not o["cancelled"]
    ]
    sandbox.configure(latency_ms=120)  # slow enough to kill it half-way

    with running_cluster(monkeypatch) as cluster:
        job, _ = services.job_enqueue(integration=integration, kind="orders", trigger="manual")
        wait_for(
            lambda: Link.objects.filter(entity="order", state=Link.State.DONE).count() >= 2,
            timeout=60,
            what="the first orders to be transferred",
        )
        kill_hard(cluster)

    job.refresh_from_db()
    assert job.status == SyncJob.Status.RUNNING  # nobody finished it
    done_before = Link.objects.filter(entity="order", state=Link.State.DONE).count()
    assert 0 < done_before < len(expected)

    # Time passes: its heartbeat goes stale, and the minutely sweep hands it to the queue again.
    SyncJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - services.STALE_AFTER - datetime.timedelta(seconds=1)
    )
    sandbox.configure(latency_ms=0)
    with running_cluster(monkeypatch):
        assert [j.pk for j in services.requeue_stalled_jobs()] == [job.pk]
        wait_for(lambda: _finished(job), timeout=90, what="the taken-over job to finish")

    job.refresh_from_db()
    assert job.attempts == 2
    invoices = sandbox.state()["visma"]["customerinvoices"]
    assert len(invoices) == len(expected)
    assert len({i["YourReference"] for i in invoices}) == len(expected)
    assert all(n == 1 for n in sandbox.create_calls("visma", "customerinvoicedrafts").values())


@pytest.mark.django_db
def test_a_duplicate_delivery_of_a_live_job_is_not_run_twice(sandbox):
    integration = _jetshop_integration(sandbox)
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    assert services.job_claim(job_id=job.pk) is not None
    assert services.job_claim(job_id=job.pk) is None  # its heartbeat is fresh: someone has it
    job.refresh_from_db()
    assert job.attempts == 1
