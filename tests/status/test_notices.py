"""Notices: the daily error digest to support (per connector, object, count and likely fix, once
a day, nothing when nothing failed) and the e-mail to a merchant whose connection needs them
(once per incident)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation
from django_q.models import Schedule

from billing.models import QuotaWarning
from integrator import notices
from integrator.models import Notice, SyncItem, SyncJob
from tests.status import builders

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.SUPPORT_EMAIL = "support@integrationer.se"
    with translation.override("en"):
        yield


@pytest.fixture
def failures(now):
    kaffe = builders.world("Kaffebönan AB", tag="KAFFE")
    rival = builders.world("Konkurrenten AB", tag="RIVAL")
    an_hour_ago = now - datetime.timedelta(hours=1)
    for world, keys in ((kaffe, ["100231", "100232"]), (rival, ["900001"])):
        job = builders.job(
            world, SyncJob.Kind.ORDERS, status=SyncJob.Status.PARTIAL, at=an_hour_ago
        )
        builders.items(
            job,
            "order",
            keys,
            outcome=SyncItem.Outcome.FAILED,
            message="Visma eEkonomi answered 422: Article FRAKT does not exist (ErrorCode 2000)",
        )
    builders.job(
        kaffe,
        SyncJob.Kind.ORDERS,
        status=SyncJob.Status.FAILED,
        at=an_hour_ago,
        error=builders.AUTH_EXPIRED,
    )
    builders.job(
        kaffe,
        SyncJob.Kind.STOCK,
        status=SyncJob.Status.FAILED,
        at=now - datetime.timedelta(hours=30),
        error="Jetshop / Norce answered 502: yesterday's news",
    )
    return kaffe, rival


def test_it_mails_support_what_failed_per_connector_with_the_likely_fix(failures, mailoutbox, now):
    reported = notices.send_error_digest(now=now)

    assert reported == 4
    [mail] = mailoutbox
    assert mail.to == ["support@integrationer.se"]
    assert mail.subject == "Error digest: 4 failures in the last 24 hours"
    body = mail.body
    assert "== Visma eEkonomi ==" in body
    assert "* Orders: 3 times (Kaffebönan AB, Konkurrenten AB)" in body
    assert "Likely fix: Visma eEkonomi rejected the data (400/409/422)" in body
    assert "* Orders job: 1 time (Kaffebönan AB)" in body
    assert "the merchant must reconnect (they are e-mailed once per incident)" in body
    assert "Kaffebönan AB: 100231; Kaffebönan AB: 100232; Konkurrenten AB: 900001" in body
    assert "rt-SECRET" not in body  # credentials in a message are redacted
    assert "yesterday's news" not in body  # older than 24 hours
    assert "/admin/integrator/syncjob/?status__exact=failed" in body


def test_it_sends_one_digest_a_day(failures, mailoutbox, now):
    notices.send_error_digest(now=now)
    notices.send_error_digest(now=now + datetime.timedelta(minutes=5))
    assert len(mailoutbox) == 1

    notices.send_error_digest(now=now + datetime.timedelta(minutes=10), force=True)
    assert len(mailoutbox) == 2
    assert (
        Notice.objects.get(kind=Notice.Kind.ERROR_DIGEST).recipients == "support@integrationer.se"
    )


def test_it_sends_nothing_when_nothing_failed_and_leaves_quota_warnings_to_billing(mailoutbox, now):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    QuotaWarning.objects.create(
        customer=world.customer,
        month=timezone.localdate().replace(day=1),
        level=80,
        used=160,
        quota=200,
    )

    assert notices.send_error_digest(now=now) == 0
    assert mailoutbox == []


def test_it_is_scheduled_every_morning():
    schedule = Schedule.objects.get(name="Daily error digest to support")

    assert schedule.func == "integrator.notices.send_error_digest"
    assert schedule.schedule_type == Schedule.DAILY
    assert timezone.localtime(schedule.next_run, notices.STOCKHOLM).hour == 7


def test_it_tells_the_merchant_once_per_incident(mailoutbox, django_capture_on_commit_callbacks):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    builders.merchant_login(world, "kaffe-ekonomi")
    world.erp.record_error(builders.AUTH_EXPIRED, needs_merchant=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert notices.notify_connection_needs_merchant(world.erp) is True
        assert notices.notify_connection_needs_merchant(world.erp) is False

    [mail] = mailoutbox
    assert mail.to == ["kaffe@example.se", "kaffe-ekonomi@example.se"]
    assert mail.subject == "Reconnect Visma eEkonomi: the authorisation expired"
    assert "Sign in to Visma eEkonomi and approve the integration again" in mail.body
    assert "/status/login/" in mail.body
    assert "invalid_grant" not in mail.body and "rt-SECRET" not in mail.body


def test_it_tells_the_merchant_again_only_after_the_connection_worked(
    mailoutbox, django_capture_on_commit_callbacks
):
    world = builders.world("Kaffebönan AB", tag="KAFFE")

    def expired_again() -> None:
        world.erp.record_error(builders.AUTH_EXPIRED, needs_merchant=True)
        with django_capture_on_commit_callbacks(execute=True):
            notices.notify_connection_needs_merchant(world.erp)

    expired_again()
    expired_again()
    assert len(mailoutbox) == 1

    world.erp.record_success()
    expired_again()
    assert len(mailoutbox) == 2


def test_it_does_not_fail_the_caller_when_the_mail_server_is_down(
    monkeypatch, django_capture_on_commit_callbacks
):
    world = builders.world("Kaffebönan AB", tag="KAFFE")

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(notices, "send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.notify_connection_needs_merchant(world.erp) is True

    notice = Notice.objects.get(kind=Notice.Kind.NEEDS_MERCHANT)
    assert notice.sent_at is None and notice.recipients == ""
