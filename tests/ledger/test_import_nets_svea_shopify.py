"""Nets Easy reporting payouts (minor units), Svea's payment-admin report (`externalOrderNo`)
and Shopify Payments payouts with their balance transactions (signed decimal strings)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import Payout
from ledger.services import payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
D = Decimal


def test_nets_payouts_with_their_payments(plus):
    gateway = plus("nets")
    result = payout_import(connection=gateway, source=sample("nets_easy_payouts.json"))

    assert result.as_json() == {
        "payouts": 1,
        "lines": 4,
        "matched": 3,
        "unmatched": 0,
        "currency": "SEK",
        "gross": "1760.04",
        "fees": "84.88",
        "net": "1675.16",
    }
    payout = Payout.objects.get(connection=gateway)
    assert payout.reference == "1006021" and str(payout.payout_date) == "2026-11-18"
    refund = payout.lines.get(type="refund")
    assert (refund.order_reference, refund.net) == ("8001", D("-33.96"))
    monthly = payout.lines.get(type="fee")
    assert (monthly.gross, monthly.fee, monthly.net) == (D("0.00"), D("49.00"), D("-49.00"))


def test_svea_report_by_external_order_number(plus):
    gateway = plus("svea")
    result = payout_import(connection=gateway, source=sample("svea_payment_admin_report.json"))

    assert result.as_json()["net"] == "2216.10" and result.as_json()["matched"] == 4
    payout = Payout.objects.get(connection=gateway)
    assert payout.reference == "SVEA-PO-77812" and payout.discrepancy() == 0
    orders = list(
        payout.lines.filter(type="sale").order_by("line_no").values_list("order_reference", "net")
    )
    assert orders == [("9001", D("1266.00")), ("9002", D("975.10")), ("9003", D("100.00"))]
    assert payout.lines.get(type="refund").net == D("-100.00")


def test_shopify_payments_payout_and_its_balance_transactions(basic):
    gateway, _shop, _webshop = basic("shopify_payments")
    result = payout_import(connection=gateway, source=sample("shopify_payments_payout.json"))

    assert result.as_json()["net"] == "2380.05" and result.as_json()["lines"] == 4
    payout = Payout.objects.get(connection=gateway)
    assert payout.reference == "623721858" and payout.raw["status"] == "paid"
    charge = payout.lines.get(transaction_id="699519475")
    assert (charge.source_order_id, charge.gross, charge.fee) == (
        "450789469",
        D("1499.00"),
        D("37.28"),
    )
    assert payout.lines.get(type="adjustment").net == D("-50.00")
