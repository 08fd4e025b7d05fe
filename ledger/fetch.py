"""Fetching payouts from the gateways' own APIs, for the schedule.

Every gateway client (shops/clients/<gateway>.py) lists payouts and hands over each payout's own
settlement file (`payout_file`: Klarna's CSV report, Stripe's itemized reconciliation CSV,
PayPal's STL file, Nets' payout JSON, Svea's daily report). That file goes to the importer like an
uploaded one, so a fetched payout and an uploaded file meet the same parser, the same checks and
the same idempotency (a file or payout already imported is a no-op).

Shopify Payments has no settlement file over its API: the payout and its balance transactions are
written out as the JSON document its parser reads (`{"payouts": […], "transactions": […]}`),
from the rows exactly as Shopify sent them. Its transactions include the payout's own row; the
parser knows that row (type "payout") is the transfer itself.

A payout whose file is already imported is not fetched again: the imported file's name carries
the gateway's payout id, because the payout reference in the file may differ from it (PayPal's
statement period, Svea's report date).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.utils import timezone

from ledger.importing import ImportResult, payout_import
from ledger.models import ImportedFile, Payout
from shops.clients.registry import client_for
from shops.clients.types import GatewayPayout
from shops.models import Connection

PLATFORMS = ("klarna", "stripe", "paypal", "nets", "svea", "shopify_payments")
# Payouts still on their way may change: only a payout that reached the bank is imported.
NOT_FINAL = frozenset(
    {"pending", "in_transit", "scheduled", "processing", "failed", "canceled", "cancelled"}
)


# How far back a fetch looks when nobody says since when.
DEFAULT_WINDOW = datetime.timedelta(days=14)


def _marker(payout_id: str) -> str:
    return f"(payout {payout_id})"


def known(connection: Connection, payout_id: str) -> bool:
    return (
        Payout.objects.filter(connection=connection, reference=payout_id).exists()
        or ImportedFile.objects.filter(
            connection=connection, name__endswith=_marker(payout_id)
        ).exists()
    )


def payout_document(
    client: Any, connection: Connection, payout: GatewayPayout
) -> tuple[str, bytes]:
    """(file name, content) of one payout in the provider's own format."""
    if hasattr(client, "payout_file"):
        return client.payout_file(payout.payout_id)
    # Shopify Payments (no file over the API): the rows as the API gave them. Its client keeps
    # no `raw` yet (a gap reported to shops), so the REST fields are written back from the
    # dataclasses, which carry every field the parser reads.
    transactions = [
        t.raw
        or {
            "id": t.transaction_id,
            "type": t.kind,
            "payout_id": t.payout_id,
            "currency": t.currency,
            "amount": str(t.amount),
            "fee": str(t.fee),
            "net": str(t.net),
            "source_id": t.source_id,
            "source_type": t.source_type,
            "source_order_id": t.order_reference or None,
            "processed_at": t.processed_at.isoformat(),
        }
        for t in client.payout_transactions(payout.payout_id)
    ]
    head = payout.raw or {
        "id": payout.payout_id,
        "status": payout.status,
        "date": payout.date.isoformat(),
        "currency": payout.currency,
        "amount": str(payout.amount),
    }
    document = {"payouts": [head], "transactions": transactions}
    content = json.dumps(document, ensure_ascii=False, sort_keys=True, default=str).encode()
    return f"shopify-payments-payout-{payout.payout_id}.json", content


def fetch_payouts(
    *,
    connection: Connection,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    client: Any = None,
) -> list[ImportResult]:
    """Import what the gateway paid out from `since` (default: two weeks back) to `until`
    (default: today). Raises the client's ApiError when the gateway cannot be read, and
    ImportRejected when a file is malformed (nothing of that file is then kept)."""
    until = until or timezone.localdate()
    since = since or until - DEFAULT_WINDOW
    client = client or client_for(connection)
    results = []
    # Oldest first: a refund's sale must be there when the refund is matched (Plus).
    listed = sorted(client.payouts(date_min=since, date_max=until), key=lambda p: p.date)
    for payout in listed:
        if payout.status.lower() in NOT_FINAL or known(connection, payout.payout_id):
            continue
        name, content = payout_document(client, connection, payout)
        results.append(
            payout_import(
                connection=connection,
                source=content,
                name=f"{name} {_marker(payout.payout_id)}"[-255:],
            )
        )
    return results
