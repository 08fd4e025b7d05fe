"""The flows: which entity moves in which direction, one module per entity."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from integrator.models import SyncJob


class FlowNotAvailable(Exception):
    """The job's kind is not part of this integration's flow or package."""


# Which function runs a job of each kind: one module per entity, one line here.
FLOWS: dict[str, str] = {
    SyncJob.Kind.ORDERS: "integrator.flows.orders.transfer_orders",
    SyncJob.Kind.PRODUCTS: "integrator.flows.products.sync_products",
    SyncJob.Kind.PRICES: "integrator.flows.prices.sync_prices",
    SyncJob.Kind.PRICE_LISTS: "integrator.flows.prices.sync_price_lists",
    SyncJob.Kind.INITIAL_PRODUCTS: "integrator.flows.initial_sync.initial_products",
    SyncJob.Kind.STOCK: "integrator.flows.stock.push_stock",
    SyncJob.Kind.ORDER_STATUS: "integrator.flows.order_status.send_order_statuses",
    SyncJob.Kind.PAYOUTS: "ledger.payout_runs.book_payouts_job",
}


def _flow_for(kind: str) -> Callable[[SyncJob], None]:
    if kind not in FLOWS:
        raise FlowNotAvailable(_("No flow for %(kind)s yet.") % {"kind": kind})
    return import_string(FLOWS[kind])


def run_flow(job: SyncJob) -> None:
    from integrator.rules import why_not

    # Checked again at run time: the package may have changed since the job was queued.
    reason = why_not(job.integration, job.kind)
    if reason:
        raise FlowNotAvailable(reason)
    _flow_for(job.kind)(job)
