"""django-q2 tasks. Thin on purpose: fetch by id, call the service."""

from integrator import services


def run_sync_job(job_id: int) -> str | None:
    job = services.job_run(job_id=job_id)
    return job.status if job else None


def enqueue_order_syncs() -> int:
    """Scheduled: queue an order transfer for every integration with a shop."""
    return len(services.enqueue_order_syncs())


def requeue_stalled_jobs() -> int:
    """Scheduled every minute: jobs whose worker died or whose task the broker lost."""
    return len(services.requeue_stalled_jobs())


def prune_webhook_events() -> int:
    """Scheduled daily: webhook ids past the shops' redelivery window."""
    return services.prune_webhook_events()
