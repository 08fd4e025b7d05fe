"""What support staff see of a job's life: queued, run once, failed with a reason, retried,
cancelled — and never two of the same kind at once for one integration."""

import pytest

from integrator import services
from integrator.models import SyncJob
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration():
    owner = factories.customer()
    erp = factories.connection(owner, "visma")
    shop = factories.connection(owner, "jetshop")
    return factories.integration(owner, erp, [shop])


def test_it_returns_the_waiting_job_instead_of_queueing_a_second_of_the_same_kind(integration):
    first, created = services.job_enqueue(integration=integration, kind="orders", trigger="manual")
    again, created_again = services.job_enqueue(
        integration=integration, kind="orders", trigger="schedule"
    )
    other, created_other = services.job_enqueue(
        integration=integration, kind="stock", trigger="manual"
    )
    assert (created, created_again, created_other) == (True, False, True)
    assert again.pk == first.pk and other.pk != first.pk


def test_it_sends_the_job_to_the_queue_only_after_the_transaction_commits(
    integration, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(services, "_send_to_queue", lambda job: sent.append(job.pk))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job, _ = services.job_enqueue(integration=integration, kind="orders", trigger="manual")
    assert sent == [] and len(callbacks) == 1
    callbacks[0]()
    assert sent == [job.pk]


def test_a_cancelled_job_is_not_run_when_the_worker_gets_to_it(integration):
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    assert services.job_cancel(job=job, user=None)
    assert services.job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == SyncJob.Status.CANCELLED and job.attempts == 0
    assert "Cancelled" in job.error or "Avbruten" in job.error


def test_a_failed_job_keeps_its_reason_and_a_retry_is_a_new_linked_job(integration, admin_user):
    job, _ = services.job_enqueue(
        integration=integration, kind="prices", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.FAILED and job.error and job.attempts == 1

    retry = services.job_retry(job=job, user=admin_user)
    assert retry.retry_of == job and retry.status == SyncJob.Status.QUEUED
    assert retry.started_by == admin_user and retry.trigger == SyncJob.Trigger.RETRY
    job.refresh_from_db()
    assert job.status == SyncJob.Status.FAILED  # the original stays as it was, readable


def test_a_succeeded_job_cannot_be_retried(integration):
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    SyncJob.objects.filter(pk=job.pk).update(status=SyncJob.Status.SUCCEEDED)
    job.refresh_from_db()
    assert services.job_retry(job=job, user=None) is None


def test_a_job_left_running_by_a_dead_worker_is_taken_over(integration):
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    SyncJob.objects.filter(pk=job.pk).update(status=SyncJob.Status.RUNNING, attempts=1)
    claimed = services.job_claim(job_id=job.pk)
    assert claimed is not None and claimed.attempts == 2


def test_a_queued_job_the_broker_forgot_is_sent_again_but_not_at_every_sweep(
    integration, monkeypatch
):
    import datetime

    from django.utils import timezone

    sent = []
    monkeypatch.setattr(services, "async_task", lambda *args, **kwargs: sent.append(args[1]))
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    long_ago = timezone.now() - services.STALE_AFTER - datetime.timedelta(minutes=1)
    SyncJob.objects.filter(pk=job.pk).update(created_at=long_ago)

    assert [j.pk for j in services.requeue_stalled_jobs()] == [job.pk]
    assert services.requeue_stalled_jobs() == []  # sent a moment ago: not again yet
    assert sent == [job.pk]
