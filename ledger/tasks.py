"""django-q2 tasks for the settlement ledger. Thin: the work is a "payouts" SyncJob (a job is a
record support staff can read and retry), run by the engine's job runner through the flow
ledger.payout_runs.book_payouts_job."""

from __future__ import annotations

from integrator import services as engine
from integrator.models import Integration, SyncJob


def enqueue_payout_fetches() -> int:
    """Scheduled (ledger/migrations/0004): one "payouts" job per enabled gateway integration;
    an integration whose job is still queued or running is left alone."""
    integrations = Integration.objects.filter(
        enabled=True,
        flow__in=[Integration.Flow.GATEWAY_PLUS, Integration.Flow.GATEWAY_BASIC],
        gateway__enabled=True,
    ).select_related("customer", "gateway")
    count = 0
    for integration in integrations:
        try:
            _job, created = engine.job_enqueue(
                integration=integration,
                kind=SyncJob.Kind.PAYOUTS,
                trigger=SyncJob.Trigger.SCHEDULE,
            )
        except engine.JobNotAllowed:
            continue  # the package or flow does not include it: nothing to run
        count += int(created)
    return count
