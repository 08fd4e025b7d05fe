"""Stripe: balance transactions of one payout (JSON, minor units, signed), the itemized payout
reconciliation report and the balance report (CSVs, header-driven, optional columns)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import Payout, PayoutLine
from ledger.services import payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_payout_list_becomes_one_payout_whose_lines_add_up_to_it(plus):
    gateway = plus("stripe")
    result = payout_import(connection=gateway, source=sample("stripe_balance_transactions.json"))

    assert result.as_json() == {
        "payouts": 1,
        "lines": 5,
        "matched": 4,
        "unmatched": 0,
        "currency": "SEK",
        "gross": "800.00",
        "fees": "61.50",
        "net": "738.50",
    }
    payout = Payout.objects.get(connection=gateway)
    assert payout.reference == "po_1Q0a1bPayout20261124" and payout.discrepancy() == 0
    assert payout.raw["type"] == "payout"  # the payout's own transaction is the payout, not a line
    stripe_fee = payout.lines.get(type="fee")
    assert (stripe_fee.gross, stripe_fee.fee, stripe_fee.net) == (D("0.00"), D("5.00"), D("-5.00"))


def test_a_refund_and_a_dispute_inherit_the_order_of_the_charge_they_point_at(plus):
    gateway = plus("stripe")
    payout_import(connection=gateway, source=sample("stripe_balance_transactions.json"))
    refund = PayoutLine.objects.get(type="refund")
    dispute = PayoutLine.objects.get(type="chargeback")
    assert (refund.order_reference, refund.net, refund.match) == ("3001", D("-200.00"), "matched")
    assert (dispute.order_reference, dispute.fee, dispute.net) == ("3002", D("15.00"), D("-265.00"))


def test_the_itemized_report_gives_one_payout_per_automatic_payout_id(plus):
    gateway = plus("stripe")
    result = payout_import(
        connection=gateway, source=sample("stripe_payout_reconciliation_itemized.csv")
    )

    payouts = {p.reference: p for p in Payout.objects.filter(connection=gateway)}
    assert set(payouts) == {"po_1QA1Payout1101", "po_1QA1Payout1108"}
    assert payouts["po_1QA1Payout1101"].net == D("1428.58")
    assert str(payouts["po_1QA1Payout1108"].payout_date) == "2026-11-10"
    # payment_metadata[order_id] and refund_metadata[order_id] are optional columns it reads.
    orders = sorted(
        PayoutLine.objects.exclude(order_reference="").values_list("order_reference", flat=True)
    )
    assert orders == ["5001", "5001", "5002", "5003", "5004"]
    assert result.as_json()["lines"] == 6


def test_a_row_that_breaks_stripes_own_arithmetic_is_kept_as_stated_and_flagged(plus):
    gateway = plus("stripe")
    result = payout_import(
        connection=gateway, source=sample("stripe_payout_reconciliation_itemized.csv")
    )

    line = PayoutLine.objects.get(transaction_id="ch_1QA1b002")
    assert (line.gross, line.fee, line.net) == (D("50.00"), D("1.75"), D("48.00"))
    assert line.breaks_own_arithmetic
    assert result.warnings == [
        "row 6: the gateway says net 48.00, but gross 50.00 − fee 1.75 is 48.25. The gateway's "
        "figures are kept and the line is flagged."
    ]


def test_the_balance_report_is_a_statement_per_currency_with_its_payouts_as_lines(plus):
    gateway = plus("stripe")
    result = payout_import(
        connection=gateway, source=sample("stripe_balance_change_from_activity.csv")
    )

    by_currency = {t["currency"]: t for t in result.as_json()}
    assert by_currency["EUR"]["net"] == "96.85" and by_currency["SEK"]["net"] == "484.50"
    eur = Payout.objects.get(connection=gateway, currency="EUR")
    assert eur.reference == "2026-11-12..2026-11-13 EUR"
    assert eur.bank_amount == D("96.85") and eur.lines.filter(type="payout").count() == 1
    assert Payout.objects.get(connection=gateway, currency="SEK").bank_amount is None
