"""What the task queue looks like, whichever broker is in use."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf


def queue_depth_and_oldest() -> tuple[int, datetime.datetime | None]:
    """Tasks waiting in the broker, and when the oldest waiting one was queued (ORM broker only:
    Redis keeps no enqueue time, so the oldest age comes from the jobs waiting instead)."""
    from integrator.models import SyncJob

    depth = get_broker().queue_size() or 0
    if Conf.ORM:
        from django_q.models import OrmQ

        oldest = OrmQ.objects.filter(key=Conf.PREFIX).order_by("lock", "pk").values_list(
            "lock", flat=True
        ).first()
    else:
        oldest = None
    queued = (
        SyncJob.objects.filter(status=SyncJob.Status.QUEUED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    candidates = [t for t in (oldest, queued) if t]
    return depth, min(candidates) if candidates else None
