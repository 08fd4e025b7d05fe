"""Found by `make chaos`: a job only showed it was alive at the end of each page of orders, so a
page slower than the stale limit (a slow or throttling Visma) made a live job look dead. A second
worker took it over while the first went on, both wrote the same orders, and Visma got them
twice. Now the worker running a job keeps its heartbeat fresh whatever the job is doing, and a
worker whose job was taken over anyway stops at its next step instead of writing on."""

from __future__ import annotations

import datetime
import threading
import time

import pytest

from integrator import services
from integrator.models import SyncJob
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_job_slower_than_the_stale_limit_is_not_taken_over_while_it_runs(sandbox, monkeypatch):
    monkeypatch.setattr(services, "STALE_AFTER", datetime.timedelta(seconds=1))
    monkeypatch.setattr(services, "HEARTBEAT_EVERY", datetime.timedelta(seconds=0.2))
    integration = _jetshop_integration(sandbox)
    orders = [o for o in sandbox.shop_orders(integration.shops.get()) if not o["cancelled"]]
    expected = {o["number"] for o in orders if o["transferable"]}
    waiting_for_a_person = len(orders) - len(expected)  # articles Visma does not know
    sandbox.configure(latency_ms=60)  # the first page takes several times the stale limit
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    worker = threading.Thread(target=services.job_run, kwargs={"job_id": job.pk})
    worker.start()
    taken_over = []
    while worker.is_alive():
        time.sleep(0.3)
        # What a second worker does when the sweep hands it the job again.
        claimed = services.job_claim(job_id=job.pk)
        if claimed is not None:
            taken_over.append(claimed.attempts)
    worker.join()

    job.refresh_from_db()
    assert taken_over == []
    assert job.status in SyncJob.FINISHED
    assert job.attempts == 1
    assert job.failed == waiting_for_a_person
    invoices = sandbox.state()["visma"]["customerinvoices"]
    references = [i["YourReference"] for i in invoices]
    assert len(references) == len(set(references)) == len(expected)


@pytest.mark.django_db
def test_a_worker_whose_job_was_taken_over_stops_and_does_not_finish_it(sandbox):
    integration = _jetshop_integration(sandbox)
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    mine = services.job_claim(job_id=job.pk)
    assert mine is not None
    # Another worker took it over (its heartbeat had gone stale, e.g. the database was away).
    SyncJob.objects.filter(pk=job.pk).update(attempts=mine.attempts + 1)

    with pytest.raises(services.JobCancelled):
        services.job_progress(mine, done=1)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.RUNNING  # for the new holder to finish
    assert job.progress_done == 0
