"""An invoice in EUR has its amounts twice in Visma: in EUR (what the buyer owes, what payments
are made in) and in SEK at Visma's rate. Everything the ledger compares with a payout line in EUR
is the EUR amount: the payment that closes the invoice, the check before paying again, what is
left to credit. A SEK invoice has both the same."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from ledger import services
from ledger.models import Allocation, Payout
from shops.clients.registry import client_for
from tests import factories
from tests.ledger.klarna_documents import klarna_document
from tests.ledger.sandbox_setup import (
    clearing_bank_account,
    failures,
    gateway_setup,
    refund_payout,
    run_payouts,
    webshop_customer,
    webshop_invoice,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_booking")]
D = Decimal
TENANT = "kaffebonan"
VISMA_EUR_RATE = D("11.2350")  # what the sandbox's Visma gives new EUR invoices (SEK per EUR)
PAYOUT_RATE = D("11.4825")  # what support set on the EUR payout
COMPLETE, PARTIAL = 2, 1  # Visma's PaymentType


@pytest.fixture
def klarna_plus(sandbox, sandbox_server):
    clearing_bank_account(sandbox_server, TENANT)
    return gateway_setup(sandbox, "klarna", TENANT, vat_rate="25")


@pytest.fixture
def payout_from(klarna_plus, admin_user):
    """payout_from(reference, Klarna rows): imported, and in EUR given its rate by support."""

    def make(reference: str, rows: list[tuple]) -> Payout:
        source = klarna_document(reference, rows)
        services.payout_import(connection=klarna_plus.gateway, source=source)
        payout = Payout.objects.get(connection=klarna_plus.gateway, reference=reference)
        if payout.currency == "EUR":
            services.payout_set_exchange_rate(payout=payout, rate=PAYOUT_RATE, user=admin_user)
        return payout

    return make


def _company(sandbox) -> dict:
    return sandbox.state()["visma"]["companies"][TENANT]


def _amounts(invoice: dict) -> dict[str, Decimal]:
    keys = (
        "TotalAmountInvoiceCurrency",
        "RemainingAmountInvoiceCurrency",
        "TotalAmount",
        "RemainingAmount",
    )
    return {key: D(str(invoice[key])) for key in keys}


def _ore(amount: Decimal) -> Decimal:
    return amount.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def _payments(company: dict, invoice: dict) -> list[dict]:
    return [p for p in company["payments"] if p["_InvoiceId"] == invoice["Id"]]


def test_an_eur_plus_payout_is_invoiced_in_eur_and_paid_exactly_once(
    sandbox, klarna_plus, payout_from
):
    payout_from("EUR1", [("SALE", "61", 10000, "EUR"), ("FEE", "61", 300, "EUR")])

    job = run_payouts(klarna_plus, fetch=False)

    assert failures(job) == []
    company = _company(sandbox)
    (invoice,) = company["customerinvoices"]
    assert (invoice["CurrencyCode"], D(str(invoice["CurrencyRate"]))) == ("EUR", VISMA_EUR_RATE)
    # 100.00 EUR at Visma's 11.2350 is 1123.50 SEK; both remaining amounts are closed.
    assert _amounts(invoice) == {
        "TotalAmountInvoiceCurrency": D("100.00"),
        "RemainingAmountInvoiceCurrency": D("0.00"),
        "TotalAmount": D("1123.50"),
        "RemainingAmount": D("0.00"),
    }
    (payment,) = _payments(company, invoice)
    assert (payment["PaymentCurrency"], D(str(payment["PaymentAmount"]))) == ("EUR", D("100.00"))
    # Compared with the 100.00 EUR remaining (not 1123.50 SEK): the payment closes the invoice.
    assert payment["PaymentType"] == COMPLETE
    # Worth 1148.25 SEK in the clearing account at the payout's rate: Visma's gain is 24.75.
    assert D(str(payment["DomesticPaymentAmount"])) == D("1148.25")
    assert D(str(payment["_ExchangeDifference"])) == D("24.75")

    again = run_payouts(klarna_plus, fetch=False)
    assert failures(again) == []
    assert len(_company(sandbox)["payments"]) == 1


def test_a_lost_answer_to_an_eur_payment_does_not_pay_twice(sandbox, klarna_plus, payout_from):
    payout_from("EUR2", [("SALE", "62", 4990, "EUR")])
    # Visma books the payment, but its answer never arrives: the retry reads the invoice first.
    sandbox.lose_next_response("visma", "POST", "/v2/customerinvoices/")

    job = run_payouts(klarna_plus, fetch=False)

    assert failures(job) == []
    company = _company(sandbox)
    (invoice,) = company["customerinvoices"]
    (payment,) = company["payments"]
    assert D(str(payment["PaymentAmount"])) == D("49.90")
    assert company["create_calls"]["payments"] == {str(invoice["InvoiceNumber"]): 1}
    assert _amounts(invoice)["RemainingAmountInvoiceCurrency"] == 0
    assert _amounts(invoice)["RemainingAmount"] == 0
    assert Allocation.objects.get(line__payout__reference="EUR2").state == "booked"


def test_two_eur_sales_of_one_order_are_both_paid(sandbox, klarna_plus, payout_from):
    """The second payment is checked against the 40.00 EUR left, not against SEK."""
    payout_from(
        "EUR3",
        [("SALE", "63", 6000, "EUR"), ("SALE", "63", 4000, "EUR")],
    )

    job = run_payouts(klarna_plus, fetch=False)

    assert failures(job) == []
    company = _company(sandbox)
    (invoice,) = company["customerinvoices"]
    payments = _payments(company, invoice)
    assert [(D(str(p["PaymentAmount"])), p["PaymentType"]) for p in payments] == [
        (D("60.00"), PARTIAL),
        (D("40.00"), COMPLETE),
    ]
    assert _amounts(invoice)["RemainingAmountInvoiceCurrency"] == 0
    assert _amounts(invoice)["RemainingAmount"] == 0


def test_a_partial_eur_refund_is_credited_in_eur_and_settled(sandbox, klarna_plus, payout_from):
    payout_from(
        "EUR4",
        [("SALE", "64", 10000, "EUR"), ("RETURN", "64", 3000, "EUR")],
    )

    job = run_payouts(klarna_plus, fetch=False)

    assert failures(job) == []
    company = _company(sandbox)
    invoice, credit = company["customerinvoices"]
    assert credit["IsCreditInvoice"]
    assert _amounts(credit) == {
        "TotalAmountInvoiceCurrency": D("-30.00"),
        "RemainingAmountInvoiceCurrency": D("0.00"),
        "TotalAmount": D("-337.05"),  # -30.00 × 11.2350
        "RemainingAmount": D("0.00"),
    }
    (settled,) = _payments(company, credit)
    assert (settled["PaymentCurrency"], D(str(settled["PaymentAmount"]))) == ("EUR", D("-30.00"))
    assert D(str(settled["DomesticPaymentAmount"])) == D("-344.48")  # -30.00 × 11.4825
    assert _amounts(invoice)["RemainingAmountInvoiceCurrency"] == 0


def test_a_sek_invoice_has_the_same_amounts_twice(sandbox, klarna_plus, payout_from):
    payout_from("SEK1", [("SALE", "65", 12500), ("FEE", "65", 400)])

    job = run_payouts(klarna_plus, fetch=False)

    assert failures(job) == []
    company = _company(sandbox)
    (invoice,) = company["customerinvoices"]
    assert (invoice["CurrencyCode"], D(str(invoice["CurrencyRate"]))) == ("SEK", 1)
    assert _amounts(invoice) == {
        "TotalAmountInvoiceCurrency": D("125.00"),
        "RemainingAmountInvoiceCurrency": D("0.00"),
        "TotalAmount": D("125.00"),
        "RemainingAmount": D("0.00"),
    }
    (payment,) = company["payments"]
    assert (payment["PaymentCurrency"], D(str(payment["PaymentAmount"]))) == ("SEK", D("125.00"))
    assert payment["PaymentType"] == COMPLETE
    assert "DomesticPaymentAmount" not in payment


# --- Basic/Pay: refunds of an EUR invoice the webshop made --------------------------------------


@pytest.fixture
def eur_shop_order(sandbox, sandbox_server):
    """A Basic/Pay integration and order 9101, invoiced in EUR by the webshop integration:
    2 × 100.00 + 24.80 EUR excl. 25 % VAT = 281.00 EUR."""
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT, flow="basic")
    merchant = integration.customer
    shop = factories.connection(merchant, "jetshop", name="Butiken")
    webshop = factories.integration(merchant, integration.erp, [shop], name="Butik → Visma")
    erp = client_for(integration.erp)
    customer = webshop_customer(erp, "W-EUR-1", currency="EUR")
    rows = (("T-KVARN", 25, 2, "100.00"), ("T-FILTER", 25, 1, "24.80"))
    invoice = webshop_invoice(erp, customer.id, f"WEB-{shop.pk}-9101", rows)
    assert (invoice.currency, invoice.total_amount) == ("EUR", D("281.00"))
    assert invoice.home_total_amount == D("3157.04")  # 281.00 × 11.2350, to the öre
    factories.order_link(webshop, shop, "9101", target_id=invoice.id)
    return integration


def _eur_refund(integration, reference: str, refund: str) -> Payout:
    return refund_payout(
        integration, reference, "9101", refund, currency="EUR", exchange_rate=PAYOUT_RATE
    )


def test_partial_eur_refunds_count_against_the_invoice_in_eur(sandbox, eur_shop_order):
    _eur_refund(eur_shop_order, "R-1", "250.00")  # both grinders
    assert failures(run_payouts(eur_shop_order, fetch=False)) == []
    # 31.00 EUR is left to credit: the first credit counts as 250.00 EUR, not 2808.75 SEK.
    _eur_refund(eur_shop_order, "R-2", "31.00")
    assert failures(run_payouts(eur_shop_order, fetch=False)) == []

    company = _company(sandbox)
    invoices = {i["Id"]: i for i in company["customerinvoices"]}
    first, second = (
        invoices[a.remote_id]
        for a in Allocation.objects.filter(item__connection=eur_shop_order.gateway).order_by(
            "line__payout__reference"
        )
    )
    assert [r["ArticleNumber"] for r in first["Rows"]] == ["T-KVARN"]
    assert [r["ArticleNumber"] for r in second["Rows"]] == ["T-FILTER"]
    for credit, eur in ((first, D("-250.00")), (second, D("-31.00"))):
        assert credit["CurrencyCode"] == "EUR"
        assert _amounts(credit) == {
            "TotalAmountInvoiceCurrency": eur,
            "RemainingAmountInvoiceCurrency": D("0.00"),
            "TotalAmount": _ore(eur * VISMA_EUR_RATE),
            "RemainingAmount": D("0.00"),
        }
        (settled,) = _payments(company, credit)
        assert D(str(settled["PaymentAmount"])) == eur
        assert D(str(settled["DomesticPaymentAmount"])) == _ore(eur * PAYOUT_RATE)

    # Nothing is left to credit: a further refund is refused with the EUR figures.
    _eur_refund(eur_shop_order, "R-3", "1.00")
    (reason,) = failures(run_payouts(eur_shop_order, fetch=False))
    assert "more than what remains to credit (0.00)" in reason


def test_a_refund_in_eur_of_a_sek_invoice_is_refused_not_compared(sandbox, sandbox_server):
    """A payment or credit is made in the invoice's currency: 30.00 EUR is never booked as
    30.00 SEK."""
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT, flow="basic")
    shop = factories.connection(integration.customer, "jetshop", name="Butiken")
    webshop = factories.integration(integration.customer, integration.erp, [shop], name="Butik")
    erp = client_for(integration.erp)
    customer = webshop_customer(erp, "W-SEK-1")
    rows = (("T-KVARN", 25, 1, "100.00"),)
    invoice = webshop_invoice(erp, customer.id, f"WEB-{shop.pk}-9201", rows)
    factories.order_link(webshop, shop, "9201", target_id=invoice.id)
    refund_payout(integration, "R-9", "9201", "30.00", currency="EUR", exchange_rate=PAYOUT_RATE)

    (reason,) = failures(run_payouts(integration, fetch=False))

    said = f"Invoice {invoice.invoice_number} is in SEK, but Klarna settled order 9201 in EUR"
    assert said in reason
    assert [i["Id"] for i in _company(sandbox)["customerinvoices"]] == [invoice.id]
    assert _company(sandbox)["payments"] == []
