"""seed_demo's payouts come from sample files in the gateways' real formats, through the same
importer, matching and booking as a customer's; seeding twice changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ledger.demo import seed_demo_payouts
from ledger.models import ImportedFile, Payout, Voucher
from shops.models import Connection

pytestmark = pytest.mark.django_db


def test_the_demo_klarna_customer_gets_imported_matched_and_booked_payouts(plus, merchant):
    gateway = plus("klarna")
    latest = seed_demo_payouts(customer=merchant, gateway=gateway)

    payouts = Payout.objects.filter(connection=gateway)
    assert latest.reference == "KLARNA-DEMO-2026-11-20" and payouts.count() == 9
    assert set(payouts.values_list("status", flat=True)) == {Payout.Status.BOOKED}
    assert set(payouts.values_list("source_format", flat=True)) == {"klarna_csv", "klarna_json"}
    assert Voucher.objects.filter(payout__connection=gateway).count() == 9

    again = seed_demo_payouts(customer=merchant, gateway=gateway)
    assert again == latest and payouts.count() == 9 and ImportedFile.objects.count() == 2
    assert Voucher.objects.count() == 9


def test_the_demo_shopify_payout_waits_for_orders_the_shop_has_not_transferred(basic, merchant):
    gateway, _shop, _webshop = basic("shopify_payments")
    payout = seed_demo_payouts(customer=merchant, gateway=gateway)
    assert payout.status == Payout.Status.REVIEW
    assert "Order 820001 was not transferred" in payout.lines.first().match_note


def test_seed_demo_twice(db):
    call_command("seed_demo", verbosity=0)
    klarna = Connection.objects.get(platform="klarna")
    count = Payout.objects.filter(connection=klarna).count()
    call_command("seed_demo", verbosity=0)
    assert count == 9 and Payout.objects.filter(connection=klarna).count() == 9
    assert Voucher.objects.filter(payout__connection=klarna).count() == 9
