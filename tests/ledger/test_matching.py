"""Matching lines to orders: for Basic/Pay, the orders the webshop integration transferred (found
through its links, Shopify's own order id resolved to the order number); for Plus, one
customer-ledger item per order. Partial refunds, several captures, one payment for several
orders and currency are handled; what cannot be matched waits with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator.models import Link
from ledger import services
from ledger.models import LedgerItem, Payout, PayoutLine
from ledger.services import payout_import
from tests import factories
from tests.ledger.conftest import sample
from tests.ledger.klarna_documents import klarna_document

pytestmark = pytest.mark.django_db
D = Decimal


def _notes(payout: Payout) -> dict[str, tuple[str, str]]:
    return {
        line.transaction_id or str(line.line_no): (line.match, line.match_note)
        for line in payout.lines.filter(type__in=PayoutLine.ORDER_TYPES)
    }


def test_basic_pay_finds_shopify_orders_by_their_shop_id(basic):
    gateway, shop, webshop = basic("shopify_payments")
    factories.order_link(webshop, shop, "1042", source_id="450789469")
    factories.order_link(webshop, shop, "1043", source_id="450789470")
    payout_import(connection=gateway, source=sample("shopify_payments_payout.json"))

    payout = Payout.objects.get(connection=gateway)
    assert payout.status == Payout.Status.MATCHED
    charge = payout.lines.get(transaction_id="699519475")
    assert charge.order_reference == "1042"  # Shopify's id, resolved to the order number
    item = charge.ledger_items.get()
    assert (item.natural_key, item.kind) == (
        f"WEB-{shop.pk}-1042",
        LedgerItem.Kind.EXISTING_INVOICE,
    )
    refund = payout.lines.get(type="refund")
    assert list(refund.ledger_items.all()) == [item]  # the partial refund credits the same order
    assert payout.lines.get(type="adjustment").match == PayoutLine.Match.NOT_NEEDED


def test_an_order_not_yet_transferred_waits_and_matches_once_it_is(basic):
    gateway, shop, webshop = basic("shopify_payments")
    factories.order_link(webshop, shop, "1042", source_id="450789469")
    payout_import(connection=gateway, source=sample("shopify_payments_payout.json"))
    payout = Payout.objects.get(connection=gateway)
    line = payout.lines.get(transaction_id="699519476")
    assert payout.status == Payout.Status.REVIEW
    assert (line.match, line.match_note) == (
        "unmatched",
        "Order 450789470 was not transferred by the webshop integration.",
    )

    link = factories.order_link(
        webshop, shop, "1043", source_id="450789470", state=Link.State.PENDING
    )
    services.payout_match(payout=payout)
    line.refresh_from_db()
    assert line.match_note == "Order 450789470 is still being transferred to the accounting system."
    link.state = Link.State.DONE
    link.save()
    outcome = services.payout_match(payout=payout)
    payout.refresh_from_db()
    assert (outcome.matched, outcome.unmatched, payout.status) == (3, 0, Payout.Status.MATCHED)


def test_basic_matches_order_numbers_and_names_what_it_cannot_find(basic):
    gateway, shop, webshop = basic("klarna", shop_platform="jetshop")
    other_shop = factories.connection(webshop.customer, "woocommerce", name="Woo")
    factories.order_link(webshop, shop, "1001")
    factories.order_link(webshop, shop, "1002")
    factories.order_link(
        webshop, other_shop, "1002", source_id="woo-1002"
    )  # same number, two shops
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))

    notes = _notes(Payout.objects.get(connection=gateway))
    assert notes["c-1001-1"] == ("matched", "")
    assert notes["c-1002-1"] == ("unmatched", "Order number 1002 exists in several shops.")
    assert notes["c-1003-1"] == (
        "unmatched",
        "Order 1003 was not transferred by the webshop integration.",
    )


def test_one_payment_for_several_orders(basic, plus):
    document = klarna_document("MULTI1", [("SALE", "1001, 1002", 150000)])
    gateway, shop, webshop = basic("klarna", shop_platform="jetshop")
    factories.order_link(webshop, shop, "1001")
    factories.order_link(webshop, shop, "1002")
    payout_import(connection=gateway, source=document)
    line = PayoutLine.objects.get(payout__connection=gateway)
    assert line.match == "matched" and "split by the invoices' remaining amounts" in line.match_note
    assert sorted(a.item.order_reference for a in line.allocations.all()) == ["1001", "1002"]
    assert {a.amount for a in line.allocations.all()} == {None}

    payout_import(connection=plus("klarna"), source=document)
    plus_line = PayoutLine.objects.exclude(payout__connection=gateway).get()
    assert plus_line.match == "unmatched"
    assert "a Plus integration needs one amount per order" in plus_line.match_note


def test_plus_makes_one_item_per_order_across_captures_and_partial_refunds(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))

    items = {i.order_reference: i for i in LedgerItem.objects.filter(connection=gateway)}
    assert sorted(items) == ["1001", "1002", "1003"]
    assert items["1001"].natural_key == f"KLARNA-{gateway.pk}-1001"
    assert items["1001"].kind == LedgerItem.Kind.NEW_INVOICE
    assert sorted(a.amount for a in items["1002"].allocations.all()) == [D("500.00"), D("749.00")]
    assert sorted(a.amount for a in items["1001"].allocations.all()) == [D("-100.00"), D("499.00")]


def test_plus_refuses_refunds_beyond_what_was_paid(plus):
    gateway = plus("klarna")
    payout_import(
        connection=gateway,
        source=klarna_document(
            "R1",
            [
                ("SALE", "77", 10000),
                ("RETURN", "77", 6000),
                ("RETURN", "77", 6000),
                ("RETURN", "88", 100),
            ],
        ),
    )
    refunds = list(PayoutLine.objects.filter(type="refund").order_by("line_no"))
    assert [r.match for r in refunds] == ["matched", "unmatched", "unmatched"]
    assert refunds[1].match_note == "Refunds of order 77 (60.00) exceed what was paid (40.00)."
    assert (
        refunds[2].match_note
        == "No sale of order 88 has come from this gateway; nothing to credit."
    )
    assert Payout.objects.get().status == Payout.Status.REVIEW


def test_an_order_paid_in_one_currency_is_not_paid_in_another(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=klarna_document("C1", [("SALE", "501", 10000)]))
    payout_import(connection=gateway, source=klarna_document("C2", [("SALE", "501", 900, "EUR")]))
    line = PayoutLine.objects.get(payout__reference="C2")
    assert line.match == "unmatched"
    assert line.match_note == "Order 501 is in SEK; this line is in EUR."


def test_a_line_handled_by_hand_stays_handled_when_matched_again(plus, django_user_model):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=klarna_document("H1", [("RETURN", "404", 5000)]))
    line = PayoutLine.objects.get()
    staff = django_user_model.objects.create(username="support")
    services.line_mark_handled(
        line=line, user=staff, comment="Refunded by bank transfer, ticket 812."
    )
    services.payout_match(payout=line.payout)
    line.refresh_from_db()
    assert (line.match, line.match_note) == ("handled", "Refunded by bank transfer, ticket 812.")
    assert Payout.objects.get().status == Payout.Status.MATCHED


def test_without_a_gateway_integration_lines_wait_with_the_reason(merchant):
    gateway = factories.connection(merchant, "klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    line = PayoutLine.objects.filter(type="sale").first()
    assert (
        line.match == "unmatched"
        and "No Plus or Basic/Pay integration uses this gateway" in line.match_note
    )
