"""A thousand orders through a Visma that fails one request in five (500, 502, 429, timeouts,
answers lost after the write), run the way the schedule runs jobs: every order lands in Visma
exactly once, none is missing, and a further run transfers nothing.

The slow test of the suite (about a minute on SQLite), kept in CI on purpose: it is the proof of
the exactly-once promise under volume."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from integrator import services
from integrator.models import Link, SyncJob
from shops.clients.base import ApiClient
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration

ORDERS = 1_000
MAX_RUNS = 5


def _run(integration) -> SyncJob:
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="schedule", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_it_transfers_a_thousand_orders_exactly_once_through_faults(sandbox, settings, monkeypatch):
    settings.RATE_LIMITS = {"visma": None}
    settings.SYNC_RETRY_BACKOFF = 0.0005
    settings.HTTP_TIMEOUT = 0.1
    # A 429's Retry-After (1 s) is not slept through inside the client: the engine backs off
    # by its own (here tiny) schedule instead.
    monkeypatch.setattr(ApiClient, "MAX_RETRY_AFTER", 0.0)
    monkeypatch.setattr(ApiClient, "RETRY_BACKOFF", (0.005, 0.01))
    integration = _jetshop_integration(sandbox)
    shop = integration.shops.get()
    requests.post(
        f"{sandbox.root}/_sandbox/jetshop/generate",
        json={"shop": "norrsken", "orders": ORDERS, "seed": 4},
        timeout=30,
    ).raise_for_status()
    orders = [o for o in sandbox.shop_orders(shop) if not o["cancelled"]]
    expected = {f"WEB-{shop.pk}-{o['number']}" for o in orders if o["transferable"]}
    never = {o["number"] for o in orders if not o["transferable"]}  # unknown article: a person
    assert len(expected) > 0.9 * ORDERS * 0.9
    sandbox.configure(faults=0.2, rate_limit=1_000_000, timeout_sleep_s=0.12)

    started = time.monotonic()
    runs = []
    for _attempt in range(MAX_RUNS):
        job = _run(integration)
        runs.append(job)
        failed = set(job.items.filter(outcome="failed").values_list("key", flat=True))
        if job.status != SyncJob.Status.FAILED and failed <= never:
            break
    elapsed = time.monotonic() - started

    state = sandbox.state()
    assert state["faults_injected"], "the sandbox injected no faults"
    invoices = Counter(i["YourReference"] for i in state["visma"]["customerinvoices"])
    assert set(invoices) == expected  # none missing, none extra
    assert max(invoices.values()) == 1  # none twice
    assert all(n == 1 for n in sandbox.create_calls("visma", "customerinvoicedrafts").values())
    assert all(n == 1 for n in sandbox.create_calls("visma", "customers").values())
    assert not Link.objects.filter(entity="order", state=Link.State.PENDING).exists()
    assert sum(j.transferred for j in runs) == len(expected)

    again = _run(integration)
    assert again.transferred == 0
    assert len(sandbox.state()["visma"]["customerinvoices"]) == len(expected)
    print(
        f"\n{ORDERS} orders in {len(runs)} run(s), {elapsed:.1f} s; "
        f"faults {state['faults_injected']}"
    )
