"""Demo payouts for seed_demo: the gateway's own sample files (ledger/demo_files/, in the real
formats) go through the same importer, matching and booking as a customer's files would.
Idempotent: a file or payout that is already there is left as it is."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from billing.models import Customer
from ledger import services
from ledger.models import Payout
from shops.models import Connection

DEMO_FILES = Path(__file__).resolve().parent / "demo_files"
FILES_BY_PLATFORM = {
    "klarna": ["klarna_settlements_2026-q4.json", "klarna_payout_2026-11-20.csv"],
    "shopify_payments": ["shopify_payments_payout_5551001.json"],
}


@transaction.atomic
def seed_demo_payouts(*, customer: Customer, gateway: Connection) -> Payout | None:
    """Imports, matches and books the demo payouts of `gateway` (a connection of `customer`);
    returns the latest of them. Payouts that cannot be booked (lines waiting for review, say)
    stay as they are, which is worth showing too."""
    if gateway.customer_id != customer.pk:
        raise ValueError(f"{gateway} does not belong to {customer}.")
    for name in FILES_BY_PLATFORM.get(gateway.platform, []):
        services.payout_import(connection=gateway, source=DEMO_FILES / name, name=name)
    for payout in Payout.objects.filter(connection=gateway).exclude(status=Payout.Status.BOOKED):
        try:
            services.payout_book(payout=payout)
        except services.BookingRefused:
            pass
    return Payout.objects.filter(connection=gateway).order_by("-payout_date", "-pk").first()
