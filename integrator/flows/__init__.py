"""The flows: which entity moves in which direction, one module per entity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrator.models import Integration, SyncJob

# DESIGN.md section 3, "Flows": which entity moves in which direction, per flow.
NOT_PART = "–"
FLOW_TABLE: dict[str, list[tuple[Any, Any]]] = {
    Integration.Flow.SHOP_MASTER: [
        (gettext_lazy("Orders incl. customer"), gettext_lazy("shop → ERP (invoice or order)")),
        (gettext_lazy("Order status"), NOT_PART),
        (gettext_lazy("Products"), gettext_lazy("shop → ERP (no variant structure)")),
        (gettext_lazy("Prices"), NOT_PART),
        (gettext_lazy("Price lists"), NOT_PART),
        (gettext_lazy("Stock balance"), NOT_PART),
    ],
    Integration.Flow.ERP_MASTER: [
        (gettext_lazy("Orders incl. customer"), gettext_lazy("shop → ERP")),
        (gettext_lazy("Order status"), gettext_lazy("ERP → shop (optional)")),
        (gettext_lazy("Products"), gettext_lazy("ERP → shop (no variants)")),
        (gettext_lazy("Prices"), gettext_lazy("ERP → shop")),
        (gettext_lazy("Price lists"), gettext_lazy("ERP → shop (package 400)")),
        (gettext_lazy("Stock balance"), gettext_lazy("ERP → shop")),
    ],
    Integration.Flow.COMBO: [
        (gettext_lazy("Orders incl. customer"), gettext_lazy("shop → ERP")),
        (gettext_lazy("Order status"), gettext_lazy("ERP → shop (optional)")),
        (gettext_lazy("Products"), gettext_lazy("shop → ERP")),
        (gettext_lazy("Prices"), gettext_lazy("ERP → shop")),
        (gettext_lazy("Price lists"), gettext_lazy("ERP → shop")),
        (gettext_lazy("Stock balance"), gettext_lazy("ERP → shop")),
    ],
    Integration.Flow.GATEWAY_PLUS: [
        (
            gettext_lazy("Payouts"),
            gettext_lazy("gateway → ERP, every order booked as its own customer-ledger item"),
        ),
    ],
    Integration.Flow.GATEWAY_BASIC: [
        (
            gettext_lazy("Payouts"),
            gettext_lazy("gateway → ERP, matched to orders the webshop integration transferred"),
        ),
    ],
}


class FlowNotAvailable(Exception):
    """The job's kind is not part of this integration's flow or package."""


def _flow_for(kind: str) -> Callable[[SyncJob], None]:
    from integrator.flows import orders

    flows: dict[str, Callable[[SyncJob], None]] = {SyncJob.Kind.ORDERS: orders.transfer_orders}
    if kind not in flows:
        raise FlowNotAvailable(_("No flow for %(kind)s yet.") % {"kind": kind})
    return flows[kind]


def run_flow(job: SyncJob) -> None:
    _flow_for(job.kind)(job)
