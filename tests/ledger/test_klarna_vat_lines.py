"""Klarna Plus books each order's VAT from Klarna's own order lines (the Order Management API):
one invoice row per line at the line's rate, so every rate's total is Klarna's to the öre; a
refund is credited with the lines that came back; without lines nothing is guessed."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from integrator.models import Integration, SyncJob
from ledger.accounts import AccountPlan
from ledger.models import Allocation, LedgerItem
from ledger.posting_calls import NotBookable
from ledger.posting_invoices import PlusInvoices
from shops.clients.klarna import KlarnaClient
from shops.clients.types import GatewayOrder, GatewayOrderLine, GatewayRefund
from tests.ledger.sandbox_setup import (
    clearing_bank_account,
    failures,
    gateway_setup,
    line_totals,
    paid_by_rate,
    run_payouts,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_booking")]
TENANT = "kaffebonan"
CENT = Decimal("0.01")


@pytest.fixture
def klarna_plus(sandbox, sandbox_server):
    """Klarna Plus with no Plus VAT rate in the account plan: every rate is Klarna's."""
    clearing_bank_account(sandbox_server, TENANT)
    return gateway_setup(sandbox, "klarna", TENANT, vat_rate=None)


def _company(sandbox):
    return sandbox.state()["visma"]["companies"][TENANT]


def _order_id(item: LedgerItem) -> str:
    line = Allocation.objects.filter(item=item, line__type="sale").first().line
    return line.raw["order_id"]


def test_a_klarna_plus_payout_books_rows_at_each_lines_rate(sandbox, klarna_plus):
    job = run_payouts(klarna_plus)
    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED

    klarna = KlarnaClient(klarna_plus.gateway)
    invoices = {i["YourReference"]: i for i in _company(sandbox)["customerinvoices"]}
    sold = LedgerItem.objects.filter(connection=klarna_plus.gateway)
    rates_seen: set[Decimal] = set()
    assert sold.count() >= 20
    for item in sold:
        order = klarna.gateway_order(_order_id(item))
        invoice = invoices[item.natural_key]
        rows = [r for r in invoice["Rows"] if not r.get("IsTextRow")]
        # One row per order line, named by its article number and name, at its rate.
        assert len(rows) == len(order.lines)
        assert [r["ArticleNumber"] for r in rows] == [
            f"PLUS-{line.vat_rate:f}" for line in order.lines
        ]
        assert all(
            line.reference in row["Text"] and line.name in row["Text"]
            for row, line in zip(rows, order.lines, strict=True)
        )
        assert paid_by_rate(rows) == line_totals(order.lines)  # to the öre, per rate
        assert Decimal(str(invoice["TotalAmount"])) == order.amount
        rates_seen |= {line.vat_rate for line in order.lines}
    assert rates_seen == {Decimal(6), Decimal(12), Decimal(25)}


def test_a_company_buyer_is_invoiced_by_its_organisation_number(sandbox, klarna_plus):
    run_payouts(klarna_plus)
    klarna = KlarnaClient(klarna_plus.gateway)
    companies = {
        item.natural_key: order
        for item in LedgerItem.objects.filter(connection=klarna_plus.gateway)
        if (order := klarna.gateway_order(_order_id(item))).organisation_number
    }
    assert companies, "the demo has company buyers"
    visma = _company(sandbox)
    customers = {c["Id"]: c for c in visma["customers"]}
    for invoice in visma["customerinvoices"]:
        order = companies.get(invoice["YourReference"])
        if order is None:
            continue
        customer = customers[invoice["CustomerId"]]
        assert customer["IsPrivatePerson"] is False
        assert customer["CorporateIdentityNumber"] == order.organisation_number
        assert customer["Name"] == order.company_name


def test_a_refund_is_credited_with_the_lines_that_came_back(sandbox, klarna_plus):
    run_payouts(klarna_plus)
    klarna = KlarnaClient(klarna_plus.gateway)
    invoices = {i["Id"]: i for i in _company(sandbox)["customerinvoices"]}
    refunds = Allocation.objects.filter(
        item__connection=klarna_plus.gateway, line__type="refund"
    ).select_related("line")
    assert refunds.exists()
    for allocation in refunds:
        order = klarna.gateway_order(allocation.line.raw["order_id"])
        refund = next(r for r in order.refunds if r.refund_id == allocation.line.raw["refund_id"])
        credit = invoices[allocation.remote_id]
        assert credit["IsCreditInvoice"] is True
        assert Decimal(str(credit["TotalAmount"])) == allocation.line.gross == -refund.amount
        credited = {rate: -total for rate, total in line_totals(refund.lines).items()}
        assert paid_by_rate(credit["Rows"]) == credited


def _forget_first_sale(sandbox_server, klarna_plus) -> str:
    """Klarna stops knowing one of the demo's orders; its order number."""
    klarna = KlarnaClient(klarna_plus.gateway)
    payout = min(klarna.payouts(date_min=None), key=lambda p: p.date)
    sale = next(t for t in klarna.payout_transactions(payout.payout_id) if t.kind == "SALE")
    merchant = sandbox_server.state.systems["klarna"].merchants[TENANT]
    merchant.sales.pop(sale.source_id)
    return sale.order_reference


def test_an_order_klarna_does_not_know_fails_with_the_reason(sandbox, sandbox_server, klarna_plus):
    order = _forget_first_sale(sandbox_server, klarna_plus)
    job = run_payouts(klarna_plus)
    assert job.status == SyncJob.Status.PARTIAL
    reasons = [r for r in failures(job) if order in r]
    assert reasons and all("gives no VAT rate" in r and "has no order" in r for r in reasons)
    item = LedgerItem.objects.get(connection=klarna_plus.gateway, order_reference=order)
    assert item.natural_key not in sandbox.create_calls("visma", "customerinvoices")
    # Only that order waits; the others are booked.
    assert len(sandbox.create_calls("visma", "customerinvoices")) > 10


def test_without_lines_the_account_plans_rate_is_the_fallback(sandbox, sandbox_server, klarna_plus):
    order = _forget_first_sale(sandbox_server, klarna_plus)
    AccountPlan.objects.filter(customer=klarna_plus.customer).update(plus_vat_rate=Decimal(25))
    job = run_payouts(klarna_plus)
    assert failures(job) == []
    item = LedgerItem.objects.get(connection=klarna_plus.gateway, order_reference=order)
    invoice = next(
        i for i in _company(sandbox)["customerinvoices"] if i["YourReference"] == item.natural_key
    )
    assert {r["ArticleNumber"] for r in invoice["Rows"]} == {"PLUS-25"}


def test_the_demo_customer_books_without_a_plus_vat_rate(sandbox, sandbox_server, settings):
    settings.SANDBOX_URL = sandbox.root
    call_command("seed_demo", verbosity=0)
    integration = Integration.objects.get(name="Klarna Plus")
    assert not AccountPlan.for_customer(integration.customer).plus_vat_rate
    clearing_bank_account(sandbox_server, TENANT)

    job = run_payouts(integration)

    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED
    assert not Allocation.objects.filter(
        item__connection=integration.gateway, state="pending"
    ).exists()


# --- refunds without lines: spread over the order's rates only when exact ---------------------


class FakeErp:
    def coding_for_vat_rate(self, rate):
        return SimpleNamespace(id=f"coding-{rate}")

    def units(self):
        return []

    def find_article(self, number):
        return SimpleNamespace(id=number)


def _line(rate: int, total: str) -> GatewayOrderLine:
    amount = Decimal(total)
    return GatewayOrderLine(
        "SKU",
        "Vara",
        "physical",
        Decimal(1),
        amount,
        Decimal(rate),
        amount,
        Decimal("0.00"),
        Decimal("0.00"),
    )


@pytest.fixture
def invoices(plus, merchant):
    gateway = plus("klarna")
    return PlusInvoices(FakeErp(), gateway, AccountPlan.for_customer(merchant))


def _refund_line(amount: str, refund_id: str = ""):
    return SimpleNamespace(gross=-Decimal(amount), currency="SEK", raw={"refund_id": refund_id})


ORDER = GatewayOrder(
    "k-1",
    "1",
    "SEK",
    Decimal("300.00"),
    (_line(25, "200.00"), _line(6, "100.00")),
    refunds=(GatewayRefund("r-1", Decimal("100.00"), (_line(6, "100.00"),)),),
)


def test_a_refund_naming_its_lines_is_credited_with_them(invoices):
    rows = invoices.refund_rows(ORDER, _refund_line("100.00", "r-1"), "1")
    assert [(r.vat_rate, r.quantity, r.unit_price) for r in rows] == [
        (Decimal(6), Decimal(-1), Decimal("94.34"))
    ]


def test_a_refund_without_lines_is_spread_over_the_rates_when_exact(invoices):
    rows = invoices.refund_rows(ORDER, _refund_line("30.00"), "1")
    assert [(r.vat_rate, r.unit_price) for r in rows] == [
        (Decimal(25), Decimal("16.00")),  # 20.00 incl. VAT
        (Decimal(6), Decimal("9.43")),  # 10.00 incl. VAT
    ]


def test_a_refund_that_cannot_be_spread_exactly_fails_with_the_reason(invoices):
    with pytest.raises(NotBookable, match="cannot be spread over the order's VAT rates"):
        invoices.refund_rows(ORDER, _refund_line("10.01"), "1")


def test_a_line_at_a_rate_plus_does_not_book_fails_with_the_reason(invoices):
    order = GatewayOrder("k-2", "2", "SEK", Decimal("10.00"), (_line(0, "10.00"),))
    with pytest.raises(NotBookable, match="0 % VAT"):
        invoices.sale_rows(order, [_refund_line("10.00")], "2")
