"""A real django-q2 cluster in a subprocess, sharing the test database and the broker.

The broker follows the settings: the ORM broker by default, Redis when REDIS_URL is set. Each
test gets its own queue name, so a demo worker on the same Redis cannot steal its tasks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.db import connection
from django_q.conf import Conf

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the database the tests run on (the test database, not the configured one)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "") + "@" if s["USER"] else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{s['NAME']}"


@contextlib.contextmanager
def running_cluster(
    monkeypatch, *, workers: int = 2, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    # Where async_task puts our tasks; the queue name also salts the task signature.
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue_name)
    monkeypatch.setattr(Conf, "PREFIX", queue_name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "Q_CLUSTER_NAME": queue_name,
        "Q_WORKERS": str(workers),
        "Q_POLL": "0.2",
        **(extra_env or {}),
    }
    log = open(ROOT / "var" / f"qcluster-{queue_name}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so we can stop the whole process group, workers included
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the whole cluster: no clean-up, no acknowledgement, as when a machine dies."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)
