"""Klarna: the payout-with-transactions CSV and the Settlements API JSON, imported as Klarna
states them: signs from the transaction type, minor units converted once, totals-only amounts
(debt to Klarna) as lines of their own, so the lines explain the settlement amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import Payout, PayoutLine
from ledger.services import payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
D = Decimal


def test_it_imports_the_csv_report_with_its_totals(plus):
    gateway = plus("klarna")
    result = payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))

    assert result.source_format == "klarna_csv"
    assert result.as_json() == {
        "payouts": 1,
        "lines": 9,
        "matched": 5,
        "unmatched": 0,
        "currency": "SEK",
        "gross": "1837.00",
        "fees": "56.17",
        "net": "1780.83",
    }
    payout = Payout.objects.get(connection=gateway)
    assert (payout.reference, str(payout.payout_date)) == ("K7Q2M9XA", "2026-11-20")
    assert payout.status == Payout.Status.MATCHED and payout.discrepancy() == 0


def test_it_gives_each_klarna_type_its_sign_and_keeps_the_raw_row(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    lines = list(PayoutLine.objects.filter(payout__connection=gateway).order_by("line_no"))

    sale, fee, refund = lines[0], lines[1], lines[8]
    assert (sale.type, sale.gross, sale.fee, sale.net) == ("sale", D("499.00"), D("0"), D("499.00"))
    assert (fee.type, fee.gross, fee.fee, fee.net) == ("fee", D("0"), D("14.47"), D("-14.47"))
    assert (refund.type, refund.gross, refund.net) == ("refund", D("-100.00"), D("-100.00"))
    assert sale.order_reference == "1001" and sale.country == "SE"
    assert sale.raw["merchant_reference1"] == "1001" and sale.raw["amount"] == "499.00"
    assert sale.occurred_at.isoformat() == "2026-11-17T09:12:44+00:00"


def test_it_reads_the_api_json_in_minor_units_with_holdback_and_new_debt(plus):
    gateway = plus("klarna")
    result = payout_import(connection=gateway, source=sample("klarna_settlements_api.json"))

    assert result.as_json()["payouts"] == 2 and result.as_json()["lines"] == 10
    first = Payout.objects.get(connection=gateway, reference="XISA93DJ")
    assert (first.gross, first.fees, first.net) == (D("798.00"), D("24.59"), D("773.41"))
    assert first.lines.get(type="reserve_hold").net == D("-50.00")
    # Returns and fees exceeded sales: Klarna paid nothing and the shortfall became debt.
    second = Payout.objects.get(connection=gateway, reference="XISB71KQ")
    assert second.net == D("0.00") and second.discrepancy() == 0
    debt = second.lines.get(type="debt")
    assert debt.net == D("355.77") and debt.raw == {"totals.deposit_amount": "355.77"}
    assert second.lines.get(type="reserve_release").net == D("50.00")


def test_a_refund_in_a_later_payout_pays_back_the_earlier_sale(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_settlements_api.json"))
    refund = PayoutLine.objects.get(payout__reference="XISB71KQ", type="refund")
    assert refund.match == PayoutLine.Match.MATCHED
    assert [a.item.order_reference for a in refund.allocations.all()] == ["2001"]
