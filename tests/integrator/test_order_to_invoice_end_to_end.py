"""The foundation's one path end to end: an order in the Jetshop sandbox becomes a customer
invoice in the Visma sandbox, through a queued job, exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator import services
from integrator.models import Link, SyncJob
from tests import factories
from tests.queue_cluster import running_cluster, wait_for


def _jetshop_integration(sandbox):
    owner = factories.customer(name="Nordisk Bokhandel AB", organisation_number="556036-0793")
    shop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop", owner)
    )
    erp = factories.connection(
        owner, "visma", sandbox.url("visma"), credentials=sandbox.credentials("visma", owner)
    )
    return factories.integration(owner, erp, [shop])


def _finished(job: SyncJob) -> SyncJob | None:
    job.refresh_from_db()
    return job if job.status in SyncJob.FINISHED else None


@pytest.mark.django_db
def test_an_order_becomes_one_customer_invoice_and_a_second_run_transfers_nothing(sandbox):
    integration = _jetshop_integration(sandbox)
    orders = sandbox.shop_orders(integration.shops.get())

    first, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=first.pk)
    first.refresh_from_db()

    live = [o for o in orders if not o["cancelled"]]  # a cancelled order never becomes an invoice
    transferable = [o for o in live if o["transferable"]]
    assert first.transferred == len(transferable) > 0
    assert first.failed == len(live) - len(transferable) > 0  # the order with an unknown article
    invoices = sandbox.state()["visma"]["customerinvoices"]
    assert sorted(i["YourReference"] for i in invoices) == sorted(
        f"WEB-{integration.shops.get().pk}-{o['number']}" for o in transferable
    )
    # What the merchant's accountant sees: the invoice totals include VAT from the shop's rows.
    by_reference = {i["YourReference"]: i for i in invoices}
    for order in transferable:
        invoice = by_reference[f"WEB-{integration.shops.get().pk}-{order['number']}"]
        assert Decimal(str(invoice["TotalAmount"])) == order["total_incl_vat"]

    second, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=second.pk)
    second.refresh_from_db()
    assert second.transferred == 0
    assert all(
        count == 1 for count in sandbox.create_calls("visma", "customerinvoicedrafts").values()
    )
    assert len(sandbox.state()["visma"]["customerinvoices"]) == len(transferable)


@pytest.mark.django_db
def test_an_order_whose_response_was_lost_is_found_not_created_again(sandbox, settings):
    settings.SYNC_RETRY_BACKOFF = 0.01
    integration = _jetshop_integration(sandbox)
    live = [o for o in sandbox.shop_orders(integration.shops.get()) if not o["cancelled"]]
    # Visma creates the first draft, but its answer never arrives.
    sandbox.lose_next_response("visma", "POST", "/v2/customerinvoicedrafts")

    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()

    # The order was retried in the same run: searched for, found, converted — not created again.
    assert job.transferred == len([o for o in live if o["transferable"]])
    assert sandbox.state()["faults_injected"] == {"drop": 1}
    assert Link.objects.filter(entity="order", state=Link.State.PENDING).count() == 0
    assert all(n == 1 for n in sandbox.create_calls("visma", "customerinvoicedrafts").values())
    assert len(sandbox.state()["visma"]["customerinvoices"]) == job.transferred


@pytest.mark.django_db
def test_a_failed_order_is_retried_alone_and_lands_once(sandbox, settings):
    settings.SYNC_RETRY_BACKOFF = 0.01
    integration = _jetshop_integration(sandbox)
    first, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=first.pk)
    first.refresh_from_db()
    assert first.status == SyncJob.Status.PARTIAL
    failed = list(first.items.filter(outcome="failed").values_list("key", flat=True))
    assert failed  # the order with an article Visma does not have

    retry = services.job_retry(job=first, user=None)
    assert retry.options["only"] == failed
    services.job_run(job_id=retry.pk)
    retry.refresh_from_db()
    # Still failing for the same reason, and nothing else was looked at again.
    assert list(retry.items.values_list("key", "outcome")) == [(k, "failed") for k in failed]


@pytest.mark.queue
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_queued_job_runs_on_a_real_worker_and_twice_transfers_once(sandbox, monkeypatch):
    integration = _jetshop_integration(sandbox)
    transferable = [
        o
        for o in sandbox.shop_orders(integration.shops.get())
        if o["transferable"] and not o["cancelled"]
    ]

    with running_cluster(monkeypatch):
        first, _ = services.job_enqueue(integration=integration, kind="orders", trigger="manual")
        wait_for(lambda: _finished(first), timeout=90, what=f"job {first.pk} to finish")
        second, _ = services.job_enqueue(integration=integration, kind="orders", trigger="manual")
        wait_for(lambda: _finished(second), timeout=90, what=f"job {second.pk} to finish")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.attempts == 1 and first.transferred == len(transferable)
    assert second.transferred == 0
    assert len(sandbox.state()["visma"]["customerinvoices"]) == len(transferable)
    assert all(
        count == 1 for count in sandbox.create_calls("visma", "customerinvoicedrafts").values()
    )
