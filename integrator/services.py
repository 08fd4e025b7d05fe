"""Everything that changes a sync job goes through these functions: the admin, the commands and
the tasks are only callers."""

from __future__ import annotations

import contextlib
import datetime
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import Error as DbError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from integrator import rules
from integrator.models import Integration, SyncItem, SyncJob
from shops.clients.errors import ApiError
from shops.redaction import redact

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a flow when support cancelled the job while it ran."""


class JobNotAllowed(Exception):
    """The integration's flow or the customer's package does not include this kind of job."""


def job_enqueue(
    *,
    integration: Integration,
    kind: str,
    trigger: str,
    user: AbstractBaseUser | None = None,
    options: dict[str, Any] | None = None,
    retry_of: SyncJob | None = None,
    queue: bool = True,
) -> tuple[SyncJob, bool]:
    """A queued job for (integration, kind), handed to django-q2 once the transaction commits.
    If one of that kind is already queued or running for the integration, that one is returned
    instead (second value False): two of the same kind never run at once. Raises JobNotAllowed
    with the reason when the flow or the package does not include the kind."""
    reason = rules.why_not(integration, kind)
    if reason:
        raise JobNotAllowed(reason)
    with transaction.atomic():
        existing = SyncJob.objects.filter(
            integration=integration, kind=kind, status__in=SyncJob.ACTIVE
        ).first()
        if existing:
            return existing, False
        try:
            with transaction.atomic():
                job = SyncJob.objects.create(
                    integration=integration,
                    kind=kind,
                    trigger=trigger,
                    started_by=user if user and user.is_authenticated else None,
                    options=options or {},
                    retry_of=retry_of,
                )
        except IntegrityError:
            # Another process created one between our check and our insert.
            existing = SyncJob.objects.get(
                integration=integration, kind=kind, status__in=SyncJob.ACTIVE
            )
            return existing, False
        if queue:
            transaction.on_commit(lambda: _send_to_queue(job))
    return job, True


def _send_to_queue(job: SyncJob) -> None:
    async_task(
        "integrator.tasks.run_sync_job",
        job.pk,
        task_name=f"sync-job-{job.pk}",
        group=f"integration-{job.integration_id}",
    )
    # For a queued job the heartbeat says when it was last handed to the broker, so the sweep
    # below sends a forgotten one again at most once per STALE_AFTER, even with a long queue.
    SyncJob.objects.filter(pk=job.pk, status=SyncJob.Status.QUEUED).update(
        heartbeat_at=timezone.now()
    )


def job_retry(*, job: SyncJob, user: AbstractBaseUser | None) -> SyncJob | None:
    """A new job of the same kind, linked to the failed one so both stay readable.
    Returns None when the job is not in a state that can be retried."""
    if job.status not in SyncJob.RETRYABLE:
        return None
    if job.status == SyncJob.Status.PARTIAL:
        # Only what failed: the rest went through and must not be looked at again.
        failed = job.items.filter(outcome=SyncItem.Outcome.FAILED).values_list("key", flat=True)
        return job_retry_items(job=job, keys=list(failed), user=user)
    retry, _created = job_enqueue(
        integration=job.integration,
        kind=job.kind,
        trigger=SyncJob.Trigger.RETRY,
        user=user,
        options=job.options,
        retry_of=job,
    )
    return retry


def job_retry_items(
    *, job: SyncJob, keys: list[str], user: AbstractBaseUser | None
) -> SyncJob | None:
    """A retry job for some of `job`'s failed items only (`options["only"]` = their keys), e.g.
    the orders support fixed one by one. Keys that did not fail in `job` are ignored: what went
    through must not be looked at again. The new job records who asked (started_by), for which
    job (retry_of) and which items (options): that is the audit trail. Returns None when none of
    the keys failed in `job`."""
    failed = set(job.items.filter(outcome=SyncItem.Outcome.FAILED).values_list("key", flat=True))
    wanted = sorted(failed & {str(k) for k in keys})
    if not wanted:
        return None
    retry, _created = job_enqueue(
        integration=job.integration,
        kind=job.kind,
        trigger=SyncJob.Trigger.RETRY,
        user=user,
        options={**job.options, "only": wanted},
        retry_of=job,
    )
    logger.info(
        "Job %s: %s retried %d item(s) as job %s",
        job.pk,
        user.get_username() if user else "system",
        len(wanted),
        retry.pk,
    )
    return retry


def job_cancel(*, job: SyncJob, user: AbstractBaseUser | None) -> bool:
    """Cancel a queued or running job. A running flow notices at its next progress update."""
    who = user.get_username() if user else "system"
    changed = SyncJob.objects.filter(pk=job.pk, status__in=SyncJob.ACTIVE).update(
        status=SyncJob.Status.CANCELLED,
        finished_at=timezone.now(),
        error=_("Cancelled by %(who)s.") % {"who": who},
    )
    return bool(changed)


# A running job shows a sign of life at every progress update (at least once per page of items);
# one silent for longer than this lost its worker.
STALE_AFTER = datetime.timedelta(seconds=settings.SYNC_STALE_AFTER)
# How often the worker running a job says it is alive, whatever the job is doing: one page of
# orders can take longer than STALE_AFTER (a slow or throttling Visma), and a live job must never
# look dead, or a second worker takes it over and both write the same orders.
HEARTBEAT_EVERY = STALE_AFTER / 4


def job_claim(*, job_id: int) -> SyncJob | None:
    """Mark the job running, or None if there is nothing to run: cancelled, finished, or running
    on a live worker (a duplicate delivery). A running job whose heartbeat is stale belonged to a
    worker that died (SIGKILL, lost machine): this worker takes it over, and the links make the
    items the dead one was writing safe to retry."""
    with transaction.atomic():
        job = (
            SyncJob.objects.select_for_update()
            .select_related("integration__customer", "integration__erp")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status not in SyncJob.ACTIVE:
            return None
        now = timezone.now()
        if (
            job.status == SyncJob.Status.RUNNING
            and job.heartbeat_at
            and (job.heartbeat_at > now - STALE_AFTER)
        ):
            logger.info("Job %s is running on a live worker; not taking it over", job.pk)
            return None
        job.status = SyncJob.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
    return job


def requeue_stalled_jobs() -> list[SyncJob]:
    """Hand jobs back to the queue whose task was lost: running ones whose worker died, and
    queued ones the broker forgot (Redis keeps nothing across a restart). Scheduled every
    minute; a duplicate delivery is harmless because job_claim refuses a live job."""
    stale = timezone.now() - STALE_AFTER
    jobs = list(
        SyncJob.objects.filter(
            Q(status__in=SyncJob.ACTIVE, heartbeat_at__lt=stale)
            | Q(status=SyncJob.Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=stale)
        )
    )
    for job in jobs:
        logger.warning("Job %s (%s) lost its task; queueing it again", job.pk, job.status)
        _send_to_queue(job)
    return jobs


def job_progress(job: SyncJob, *, done: int | None = None, total: int | None = None) -> None:
    """Save progress counters; raise JobCancelled if support cancelled the job meanwhile."""
    fields: dict[str, Any] = {
        "heartbeat_at": timezone.now(),
        "transferred": job.transferred,
        "skipped": job.skipped,
        "failed": job.failed,
        "progress_done": job.progress_done if done is None else done,
    }
    if total is not None:
        fields["progress_total"] = total
    job.progress_done = fields["progress_done"]
    if not _ours(job).update(**fields):
        raise JobCancelled  # cancelled by support, or taken over by another worker
    if getattr(job, "on_progress", None):
        job.on_progress(job)


def item_record(
    job: SyncJob,
    *,
    object_type: str,
    key: str,
    outcome: str,
    message: str = "",
    remote_id: str = "",
    detail: dict[str, Any] | None = None,
) -> SyncItem:
    counter = {
        SyncItem.Outcome.TRANSFERRED: "transferred",
        SyncItem.Outcome.SKIPPED: "skipped",
        SyncItem.Outcome.FAILED: "failed",
    }[outcome]
    setattr(job, counter, getattr(job, counter) + 1)
    job.progress_done += 1
    return SyncItem.objects.create(
        job=job,
        object_type=object_type,
        key=key,
        outcome=outcome,
        message=message,
        remote_id=remote_id,
        detail=redact(detail) if detail else None,
    )


def _ours(job: SyncJob) -> Any:
    """The job's row while this worker still holds it: running, and not claimed again since
    (a worker that took it over raised `attempts`). Updates through it are fenced: a worker that
    lost the job changes nothing and stops."""
    return SyncJob.objects.filter(pk=job.pk, status=SyncJob.Status.RUNNING, attempts=job.attempts)


@contextlib.contextmanager
def _heartbeat(job: SyncJob) -> Iterator[None]:
    """Keep the job's heartbeat fresh from a side thread for as long as this process runs it.
    A killed worker's thread dies with it, so its job still goes stale and is taken over."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
                try:
                    # After a database restart the old connection is dead: open a new one.
                    connection.close_if_unusable_or_obsolete()
                    _ours(job).update(heartbeat_at=timezone.now())
                except DbError:  # the database is away (OperationalError, InterfaceError, …)
                    logger.warning("Job %s: could not record its heartbeat", job.pk)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-job-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def job_run(*, job_id: int, progress: Callable[[SyncJob], None] | None = None) -> SyncJob | None:
    """Run one job to its end and record the outcome. What the django-q2 task calls;
    `progress` is called at every progress update (the sync command prints it)."""
    from integrator.flows import FlowNotAvailable, run_flow

    job = job_claim(job_id=job_id)
    if job is None:
        return None
    job.on_progress = progress
    try:
        with _heartbeat(job):
            run_flow(job)
    except JobCancelled:
        logger.info("Job %s was cancelled or taken over while running", job.pk)
        return SyncJob.objects.get(pk=job.pk)
    except ApiError as exc:
        _finish(job, SyncJob.Status.FAILED, error=exc.message, detail=exc.exchange)
        if exc.needs_merchant:
            _tell_merchant(job.integration, exc)
        return job
    except FlowNotAvailable as exc:
        _finish(job, SyncJob.Status.FAILED, error=str(exc))
        return job
    except Exception as exc:
        # A bug, not a remote problem: keep the job readable and let the logs carry the trace.
        logger.exception("Job %s crashed", job.pk)
        _finish(job, SyncJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return job
    status = SyncJob.Status.PARTIAL if job.failed else SyncJob.Status.SUCCEEDED
    error = (
        _("%(n)d item(s) failed; see the items below.") % {"n": job.failed} if job.failed else ""
    )
    _finish(job, status, error=error)
    return job


def _tell_merchant(integration: Integration, exc: ApiError) -> None:
    """Mark the connection that refused us (expired authorisation, missing module, closed
    period) as needing the merchant, and e-mail them once per incident."""
    from integrator.notices import notify_connection_needs_merchant

    url = (exc.exchange or {}).get("url", "")
    candidates = [integration.erp, integration.gateway, *integration.shops.all()]
    connection = next(
        (c for c in candidates if c and url.startswith(c.base_url.rstrip("/") + "/")),
        integration.erp,  # token endpoints live elsewhere; the ERP's is the usual one to expire
    )
    connection.record_error(exc.message, needs_merchant=True)
    connection.refresh_from_db()
    notify_connection_needs_merchant(connection)


def _finish(job: SyncJob, status: str, *, error: str = "", detail: Any = None) -> None:
    job.status = status
    job.error = error
    job.error_detail = redact(detail) if detail else None
    job.finished_at = timezone.now()
    # Only a job this worker still holds is finished here: a job cancelled meanwhile stays
    # cancelled, and one taken over is finished by the worker that has it now.
    _ours(job).update(
        status=job.status,
        error=job.error,
        error_detail=job.error_detail,
        finished_at=job.finished_at,
        transferred=job.transferred,
        skipped=job.skipped,
        failed=job.failed,
        progress_done=job.progress_done,
    )


def enqueue_order_syncs() -> list[SyncJob]:
    """One queued order transfer per enabled shop integration whose systems we can talk to.
    An integration that already has one queued or running is left alone."""
    from shops.clients.registry import supports

    jobs = []
    integrations = (
        Integration.objects.filter(enabled=True, shops__isnull=False, erp__enabled=True)
        .exclude(flow__in=[Integration.Flow.GATEWAY_PLUS, Integration.Flow.GATEWAY_BASIC])
        .select_related("erp")
        .prefetch_related("shops")
        .distinct()
    )
    for integration in integrations:
        platforms = [integration.erp.platform] + [s.platform for s in integration.shops.all()]
        if not all(supports(p) for p in platforms) or rules.why_not(
            integration, SyncJob.Kind.ORDERS
        ):
            continue
        job, created = job_enqueue(
            integration=integration, kind=SyncJob.Kind.ORDERS, trigger=SyncJob.Trigger.SCHEDULE
        )
        if created:
            jobs.append(job)
    return jobs


# Shopify redelivers a webhook for up to 48 hours and WooCommerce a few times within hours, so a
# week of webhook ids is plenty to recognise every redelivery; older rows are only weight.
WEBHOOK_EVENT_RETENTION = datetime.timedelta(days=7)


def prune_webhook_events(*, now: datetime.datetime | None = None) -> int:
    """Forget webhook ids older than the retention; returns how many were deleted."""
    from integrator.models import WebhookEvent

    cutoff = (now or timezone.now()) - WEBHOOK_EVENT_RETENTION
    deleted, _by_model = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
