"""Reads of the settlement ledger used in more than one place (the admin, the status page)."""

from __future__ import annotations

from dataclasses import dataclass, field

from billing.models import Customer
from integrator.models import Integration
from ledger import booking
from ledger.models import Payout


@dataclass
class GatewayStatus:
    """What the merchant's status page says about one gateway integration."""

    integration: Integration
    limits: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (payout reference, why)
    waiting: int = 0  # payouts not yet booked for another reason (review, discrepancy)


def gateway_statuses(customer: Customer) -> list[GatewayStatus]:
    """Per gateway integration of the customer: its documented limits (explained, not worked
    around) and the payouts whose booking was refused, with the reason."""
    statuses = []
    integrations = Integration.objects.filter(
        customer=customer,
        flow__in=[Integration.Flow.GATEWAY_PLUS, Integration.Flow.GATEWAY_BASIC],
    ).select_related("gateway")
    for integration in integrations:
        payouts = Payout.objects.filter(connection=integration.gateway)
        refused = payouts.filter(status=Payout.Status.REFUSED).values_list("reference", "note")
        statuses.append(
            GatewayStatus(
                integration=integration,
                limits=booking.documented_limits(integration),
                refused=list(refused[:20]),
                waiting=payouts.filter(
                    status__in=[Payout.Status.REVIEW, Payout.Status.DISCREPANCY]
                ).count(),
            )
        )
    return statuses
