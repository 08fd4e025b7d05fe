"""The flows: which entity moves in which direction, one module per entity."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from integrator.models import SyncJob


class FlowNotAvailable(Exception):
    """The job's kind is not part of this integration's flow or package."""


def _flow_for(kind: str) -> Callable[[SyncJob], None]:
    from integrator.flows import orders

    flows: dict[str, Callable[[SyncJob], None]] = {SyncJob.Kind.ORDERS: orders.transfer_orders}
    if kind not in flows:
        raise FlowNotAvailable(_("No flow for %(kind)s yet.") % {"kind": kind})
    return flows[kind]


def run_flow(job: SyncJob) -> None:
    from integrator.rules import why_not

    # Checked again at run time: the package may have changed since the job was queued.
    reason = why_not(job.integration, job.kind)
    if reason:
        raise FlowNotAvailable(reason)
    _flow_for(job.kind)(job)
