"""Booking a payout builds one balanced voucher — fees (with reverse-charge VAT where the gateway
is foreign) and the transfer from the clearing account to the bank — with BAS 2026 accounts
unless the customer's plan says otherwise; exactly once; and never when something is off."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ledger import services
from ledger.accounts import AccountPlan
from ledger.booking import BookingRefused
from ledger.models import LedgerEvent, Payout, Voucher
from ledger.services import payout_import
from tests import factories
from tests.ledger.conftest import sample
from tests.ledger.klarna_documents import klarna_document

pytestmark = pytest.mark.django_db
D = Decimal


def _rows(voucher: Voucher) -> list[tuple[str, Decimal]]:
    return list(voucher.rows.order_by("row_no").values_list("account", "amount"))


def test_a_swedish_gateways_fees_and_transfer_without_reverse_charge(plus, django_user_model):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    payout = Payout.objects.get()
    staff = django_user_model.objects.create(username="support")

    voucher = services.payout_book(payout=payout, user=staff)

    # The 100.00 refunded to a buyer is not here: its credit invoice is settled in the
    # customer ledger through the API (Dr 1510 / Cr 1686 there), so 1686 gives only the rest.
    assert _rows(voucher) == [
        ("1930", D("1780.83")),
        ("6570", D("56.17")),
        ("1686", D("-1837.00")),
    ]
    assert voucher.text == "K7Q2M9XA Klarna: avgifter och utbetalning"
    assert (voucher.date.isoformat(), voucher.state) == ("2026-11-20", Voucher.State.DRAFT)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.BOOKED and payout.booked_at
    assert LedgerEvent.objects.filter(payout=payout, action="booked", user=staff).exists()


def test_it_books_exactly_once(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    payout = Payout.objects.get()
    first = services.payout_book(payout=payout)
    assert services.payout_book(payout=payout) == first
    assert Voucher.objects.count() == 1


def test_a_foreign_gateways_fees_carry_reverse_charge_vat(plus):
    gateway = plus("stripe")
    payout_import(connection=gateway, source=sample("stripe_balance_transactions.json"))
    voucher = services.payout_book(payout=Payout.objects.get())
    assert _rows(voucher) == [
        ("1930", D("738.50")),
        ("6570", D("61.50")),
        ("2645", D("15.38")),
        ("2614", D("-15.38")),
        ("1686", D("-800.00")),
    ]


def test_paypal_books_what_was_withdrawn_to_the_bank(basic):
    gateway, shop, webshop = basic("paypal", shop_platform="woocommerce")
    for number in ("4101", "4102"):
        factories.order_link(webshop, shop, number)
    payout_import(connection=gateway, source=sample("paypal_settlement.stl.csv"))
    voucher = services.payout_book(payout=Payout.objects.get())
    assert _rows(voucher) == [
        ("1930", D("1000.00")),
        ("6570", D("212.40")),
        ("2645", D("53.10")),
        ("2614", D("-53.10")),
        ("1686", D("-1212.40")),
    ]


def test_the_customers_own_accounts_are_used(plus, merchant):
    AccountPlan.objects.create(
        customer=merchant,
        bank="1940",
        fees="6040",
        clearing="1580",
        clearing_by_platform={"klarna": "1687"},
    )
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    voucher = services.payout_book(payout=Payout.objects.get())
    assert [a for a, _amount in _rows(voucher)] == ["1940", "6040", "1687"]


def test_a_discrepancy_is_never_booked(plus):
    document = json.loads(sample("klarna_settlements_api.json").read_text())
    document["payouts"][0]["totals"]["settlement_amount"] += 100  # Klarna says 1.00 more
    gateway = plus("klarna")
    payout_import(connection=gateway, source=json.dumps(document).encode())
    payout = Payout.objects.get(reference="XISA93DJ")
    assert payout.status == Payout.Status.DISCREPANCY and payout.discrepancy() == D("1.00")

    with pytest.raises(BookingRefused) as refused:
        services.payout_book(payout=payout)
    assert refused.value.kind == "discrepancy"
    assert "The lines add up to 773.41, but Klarna says it paid 774.41" in refused.value.reason
    assert not Voucher.objects.exists()
    assert LedgerEvent.objects.filter(payout=payout, action="refused").exists()


def test_lines_waiting_for_review_stop_the_booking_until_handled(plus, django_user_model):
    gateway = plus("klarna")
    payout_import(
        connection=gateway,
        source=klarna_document("W1", [("SALE", "9", 5000), ("RETURN", "10", 100)]),
    )
    payout = Payout.objects.get()
    with pytest.raises(BookingRefused, match="1 lines wait for review"):
        services.payout_book(payout=payout)

    line = payout.lines.get(type="refund")
    staff = django_user_model.objects.create(username="support")
    services.line_mark_handled(line=line, user=staff, comment="Credited by hand in Visma.")
    voucher = services.payout_book(payout=payout)
    assert _rows(voucher) == [("1930", D("49.00")), ("1686", D("-49.00"))]


def test_a_payout_that_refunds_all_it_took_has_nothing_for_the_voucher(plus):
    gateway = plus("klarna")
    payout_import(
        connection=gateway,
        source=klarna_document("Z1", [("SALE", "5", 5000), ("RETURN", "5", 5000)]),
    )
    payout = Payout.objects.get()
    # Nothing reached the bank and no fee was taken: the sale's payment and the refund's
    # settled credit invoice are all in the customer ledger, the voucher has nothing to hold.
    assert services.payout_book(payout=payout) is None
    payout.refresh_from_db()
    assert payout.status == Payout.Status.BOOKED


def test_a_foreign_currency_payout_needs_a_rate_and_is_converted_with_it(plus, django_user_model):
    gateway = plus("klarna")
    payout_import(
        connection=gateway,
        source=klarna_document("EUR1", [("SALE", "61", 10000, "EUR"), ("FEE", "61", 300, "EUR")]),
    )
    payout = Payout.objects.get()
    with pytest.raises(BookingRefused, match="The payout is in EUR; set its exchange rate to SEK"):
        services.payout_book(payout=payout)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.REFUSED

    staff = django_user_model.objects.create(username="support")
    services.payout_set_exchange_rate(payout=payout, rate=D("11.4825"), user=staff)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.MATCHED
    voucher = services.payout_book(payout=payout)
    assert _rows(voucher) == [("1930", D("1113.80")), ("6570", D("34.45")), ("1686", D("-1148.25"))]
