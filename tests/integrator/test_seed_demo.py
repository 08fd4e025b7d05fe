from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Customer
from integrator import services
from integrator.models import Integration, SyncJob
from ledger.models import Payout, Voucher
from shops.models import Connection

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (Customer, Connection, Integration, SyncJob, Payout, Voucher)
    )


def test_it_seeds_three_merchants_on_different_packages_and_twice_changes_nothing(sandbox):
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    packages = {c.name: c.current_subscription().package.code for c in Customer.objects.all()}
    assert packages == {
        "Norrsken Hem & Kök AB": "200",
        "Fjällmode AB": "400",
        "Kaffebönan AB": "100",
    }
    assert all(v.rows.count() >= 2 for v in Voucher.objects.all())


def test_the_demo_jetshop_integration_transfers_orders_from_the_sandbox(sandbox):
    call_command("seed_demo", stdout=StringIO())
    integration = Integration.objects.get(customer__name="Norrsken Hem & Kök AB")

    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.transferred > 0
    invoices = sandbox.state()["visma"]["customerinvoices"]
    assert len(invoices) == job.transferred
    failed = list(job.items.filter(outcome="failed").values_list("message", flat=True))
    assert failed and all("KOK-1004" in message for message in failed)


def test_every_demo_integration_runs_against_the_sandbox_without_a_real_account(sandbox, settings):
    settings.RATE_LIMITS = {"visma": None}
    settings.SYNC_RETRY_BACKOFF = 0.01
    call_command("seed_demo", stdout=StringIO())
    outcomes = {}
    for integration in Integration.objects.select_related("customer"):
        kind = "payouts" if integration.is_gateway else "orders"
        job, _ = services.job_enqueue(
            integration=integration, kind=kind, trigger="manual", queue=False
        )
        services.job_run(job_id=job.pk)
        job.refresh_from_db()
        outcomes[integration.name] = (job.status, job.transferred, job.failed)

    # Every one moved something; the only failures are the demo's deliberate bad orders.
    assert all(transferred > 0 for _status, transferred, _failed in outcomes.values()), outcomes
    assert outcomes["Klarna Plus"][0] == SyncJob.Status.SUCCEEDED
    assert outcomes["Shopify Pay"][0] == SyncJob.Status.SUCCEEDED
    assert outcomes["Jetshop ↔ Visma"][2] == 1  # KOK-1004, an article Visma does not have
    assert outcomes["Multishop ↔ Visma"][2] == 0
