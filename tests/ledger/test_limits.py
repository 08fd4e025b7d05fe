"""The documented limits are enforced and explained, not worked around: PayPal Plus and Stripe
Plus refuse to book when the merchant sells in several countries (those gateways report no VAT
rates). Klarna, Nets and Svea have no such limit, and Basic/Pay takes rates from the shop."""

from __future__ import annotations

import pytest

from integrator.models import Integration
from ledger import services
from ledger.accounts import AccountPlan
from ledger.booking import BookingRefused, documented_limits
from ledger.models import Payout
from ledger.selectors import gateway_statuses
from ledger.services import payout_import
from tests import factories
from tests.ledger.conftest import sample
from tests.ledger.klarna_documents import klarna_document

pytestmark = pytest.mark.django_db


def test_paypal_plus_refuses_a_payout_with_buyers_abroad_and_says_why(plus, merchant):
    gateway = plus("paypal")
    payout_import(connection=gateway, source=sample("paypal_transaction_search.json"))
    eur = Payout.objects.get(currency="EUR")

    with pytest.raises(BookingRefused) as refused:
        services.payout_book(payout=eur)
    assert refused.value.kind == "limit"
    assert refused.value.reason.startswith(
        "PayPal Plus cannot book this payout: the customer sells in several countries (this payout "
        "has buyers in DE), and PayPal reports no VAT rates"
    )
    assert "We do not guess rates" in refused.value.reason
    eur.refresh_from_db()
    assert eur.status == Payout.Status.REFUSED and eur.note == refused.value.reason

    status = gateway_statuses(merchant)[0]
    assert status.refused == [(eur.reference, refused.value.reason)]
    assert "PayPal never gives the organisation number of business customers." in status.limits


def test_stripe_plus_refuses_when_the_customer_is_known_to_sell_abroad(plus, merchant):
    AccountPlan.objects.create(customer=merchant, sells_in_several_countries=True)
    gateway = plus("stripe")
    payout_import(connection=gateway, source=sample("stripe_balance_transactions.json"))
    with pytest.raises(
        BookingRefused,
        match=r"^Stripe Plus cannot book this payout: the customer sells in several countries, and",
    ):
        services.payout_book(payout=Payout.objects.get())


def test_klarna_plus_has_no_such_limit(plus):
    gateway = plus("klarna")
    payout_import(
        connection=gateway, source=klarna_document("DE1", [("SALE", "1", 9900, "SEK", "DE")])
    )
    assert services.payout_book(payout=Payout.objects.get()) is not None


def test_paypal_basic_takes_its_rates_from_the_shop_and_is_not_limited(basic):
    gateway, shop, webshop = basic("paypal", shop_platform="woocommerce")
    factories.order_link(webshop, shop, "4002")
    payout_import(connection=gateway, source=sample("paypal_transaction_search.json"))
    eur = Payout.objects.get(currency="EUR")
    with pytest.raises(BookingRefused) as refused:
        services.payout_book(payout=eur)
    assert refused.value.kind == "rate"  # only the exchange rate is missing, no country limit


def test_the_documented_limits_per_integration(merchant):
    paypal = factories.gateway_integration(merchant, "paypal", flow="plus")
    stripe = factories.gateway_integration(merchant, "stripe", flow="plus")
    klarna = factories.gateway_integration(merchant, "klarna", flow="plus")
    basic = factories.gateway_integration(merchant, "paypal", flow="basic")
    assert documented_limits(paypal)[0].startswith(
        "PayPal Plus cannot be used when selling in several"
    )
    assert "only sometimes" in documented_limits(stripe)[1]
    assert "no article numbers" in documented_limits(stripe)[2]
    assert documented_limits(klarna) == [] and documented_limits(basic) == []
    assert basic.flow == Integration.Flow.GATEWAY_BASIC
