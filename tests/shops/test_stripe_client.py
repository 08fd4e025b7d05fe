"""The Stripe client against the sandbox: cursor paging, balance transactions with their
sources, and the itemized payout reconciliation report."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from shops.clients.stripe import REPORT_COLUMNS, StripeClient, minor
from tests.shops.test_gateway_clients import NOVEMBER, gateway_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe(sandbox_url) -> StripeClient:
    return StripeClient(gateway_connection("stripe", sandbox_url))


def test_it_follows_the_starting_after_cursor(stripe, sandbox):
    payouts = list(stripe.payouts(page_size=3, **NOVEMBER))

    assert len(payouts) == 4 and all(p.status == "paid" for p in payouts)
    listed = [r["query"] for r in sandbox.requests("stripe") if r["path"] == "/v1/payouts"]
    assert "starting_after" not in listed[0]
    assert listed[1]["starting_after"] == payouts[2].payout_id


def test_the_payouts_own_balance_transaction_is_left_out(stripe):
    payout = next(stripe.payouts(**NOVEMBER))
    rows = list(stripe.payout_transactions(payout.payout_id))

    assert {r.kind for r in rows} <= {"charge", "refund", "adjustment"}
    assert all(r.source_id.startswith(("ch_", "re_", "du_")) for r in rows)
    assert [r.processed_at for r in rows] == sorted(r.processed_at for r in rows)


def test_minor_units_follow_the_currency():
    assert minor(123456, "sek") == Decimal("1234.56")
    assert minor(-5, "eur") == Decimal("-0.05")
    assert minor(1234, "jpy") == Decimal("1234")  # a zero-decimal currency


def test_the_payout_file_is_the_itemized_reconciliation_report(stripe, sandbox):
    payout = next(stripe.payouts(**NOVEMBER))

    name, content = stripe.payout_file(payout.payout_id)
    again = stripe.payout_file(payout.payout_id)

    assert name == f"stripe-payout-reconciliation-{payout.payout_id}.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert content.decode().splitlines()[0].split(",") == REPORT_COLUMNS
    assert {r["automatic_payout_id"] for r in rows} == {payout.payout_id}
    assert sum(Decimal(r["net"]) for r in rows) == payout.amount
    assert all(r["payment_metadata[order_id]"].startswith("KB-") for r in rows)
    # The same payout asked twice is one report run (the idempotency key), and the same file.
    assert again == (name, content)
    assert sandbox.state()["stripe"]["accounts"]["kaffebonan"]["report_runs"] == 1
    assert stripe.last_exchange.request_headers["Authorization"] == "[redacted]"
