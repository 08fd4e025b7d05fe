"""/healthz for operations: database reachable, queue depth, age of the oldest waiting task, and
nothing else (no versions, host names, customers or error texts)."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

from integrator.models import SyncJob
from tests.status import builders

pytestmark = pytest.mark.django_db

KEYS = {"database", "queue", "queue_depth", "oldest_task_age_seconds"}


@pytest.fixture
def own_queue(monkeypatch):
    """A queue of our own, so a worker or another test on the same broker cannot change it."""
    name = f"healthz-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    monkeypatch.setattr(Conf, "PREFIX", name)
    return name


def test_it_reports_an_empty_queue(client, own_queue):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "queue": "ok",
        "queue_depth": 0,
        "oldest_task_age_seconds": 0,
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.skipif(not Conf.ORM, reason="the ORM broker's own rows (REDIS_URL is set)")
def test_it_reports_the_depth_and_the_oldest_waiting_task_of_the_orm_broker(client, own_queue):
    now = timezone.now()
    for minutes in (7, 2):
        OrmQ.objects.create(
            key=own_queue, payload="x", lock=now - datetime.timedelta(minutes=minutes)
        )
    # Taken by a worker: its lock lies in the future, so it no longer waits.
    OrmQ.objects.create(key=own_queue, payload="x", lock=now + datetime.timedelta(minutes=30))

    body = client.get("/healthz").json()

    assert body["queue_depth"] == 2
    assert 7 * 60 <= body["oldest_task_age_seconds"] < 8 * 60


def test_it_counts_a_sync_job_still_waiting_for_a_worker(client, own_queue):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    SyncJob.objects.create(
        integration=world.integration,
        kind=SyncJob.Kind.ORDERS,
        trigger=SyncJob.Trigger.SCHEDULE,
        created_at=timezone.now() - datetime.timedelta(minutes=30),
    )

    body = client.get("/healthz").json()

    assert 30 * 60 <= body["oldest_task_age_seconds"] < 31 * 60
    assert "KAFFE" not in json.dumps(body) and "Kaffebönan" not in json.dumps(body)


def test_it_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server at db.internal:5432 (10.0.0.5)")

    monkeypatch.setattr("integrator.views.connection.cursor", refuse)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "unreachable"}
    assert b"db.internal" not in response.content and b"10.0.0.5" not in response.content


def test_it_does_not_crash_when_redis_is_configured_but_down(client, monkeypatch, own_queue):
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "queue": "unreachable",
        "queue_depth": None,
        "oldest_task_age_seconds": None,
    }
    assert b"127.0.0.1" not in response.content


@pytest.mark.queue
def test_it_counts_tasks_waiting_in_the_configured_broker(client, own_queue):
    """With REDIS_URL set (CI's queue stage) this counts the real Redis list; without, the ORM
    broker's table."""
    try:
        for n in range(3):
            async_task("math.floor", n)
        body = client.get("/healthz").json()
    finally:
        from django_q.brokers import get_broker

        get_broker(own_queue).purge_queue()

    assert set(body) == KEYS
    assert body["database"] == "ok" and body["queue"] == "ok"
    assert body["queue_depth"] == 3


def test_it_answers_over_plain_http_where_everything_else_redirects_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [
        r"^healthz/?$"
    ]  # as integrator/settings.py has it in production

    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert client.get("/status/login/").status_code == 301
