"""What the task queue looks like, whichever broker is in use (for /healthz)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

logger = logging.getLogger(__name__)

# /healthz must answer quickly even when Redis is gone: never wait on it for long.
REDIS_TIMEOUT_SECONDS = 2.0


class QueueUnreachable(Exception):
    """The broker did not answer (Redis down, wrong URL)."""


@dataclass(frozen=True)
class QueueState:
    depth: int
    oldest_queued_at: datetime.datetime | None

    def oldest_age_seconds(self, now: datetime.datetime | None = None) -> int:
        if self.oldest_queued_at is None:
            return 0
        age = (now or timezone.now()) - self.oldest_queued_at
        return max(0, int(age.total_seconds()))


def queue_state() -> QueueState:
    """Tasks waiting in the broker, and when the oldest waiting one was queued.

    The ORM broker keeps the enqueue time of a waiting task (its `lock`, until a worker takes
    it). Redis keeps no time, so the age comes from the sync jobs still waiting for a worker,
    which are the tasks that matter; those count for the ORM broker too."""
    from integrator.models import SyncJob

    if Conf.ORM:
        depth, oldest_task = _orm_queue()
    else:
        depth, oldest_task = _redis_depth(), None
    oldest_job = (
        SyncJob.objects.filter(status=SyncJob.Status.QUEUED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    candidates = [t for t in (oldest_task, oldest_job) if t]
    return QueueState(depth=depth, oldest_queued_at=min(candidates) if candidates else None)


def _orm_queue() -> tuple[int, datetime.datetime | None]:
    from django_q.models import OrmQ

    # A waiting task's lock is its enqueue time (or the moment a dead worker's lease ran out);
    # a task a worker holds has its lock in the future.
    waiting = OrmQ.objects.using(Conf.ORM).filter(key=Conf.CLUSTER_NAME, lock__lte=timezone.now())
    oldest = waiting.order_by("lock").values_list("lock", flat=True).first()
    return waiting.count(), oldest


def _redis_depth() -> int:
    import redis

    if not isinstance(Conf.REDIS, str):
        # A dict of connection options (not how our settings configure it, but allowed).
        try:
            return int(get_broker().queue_size() or 0)
        except Exception as exc:  # noqa: BLE001 - any broker failure means "unreachable"
            raise QueueUnreachable from exc
    client = redis.Redis.from_url(
        Conf.REDIS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        # The list django_q.brokers.redis_broker.Redis pushes tasks onto.
        return int(client.llen(f"django_q:{Conf.CLUSTER_NAME}:q") or 0)
    except redis.RedisError as exc:
        raise QueueUnreachable from exc
    finally:
        client.close()
