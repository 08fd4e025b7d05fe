"""Nets Easy and Svea Plus book each order's VAT from the gateway's own order (Nets' Payment API,
Svea's Payment Admin API), as Klarna's does: one invoice row per item at the item's rate, named
by its article number and name, the invoice's total what the buyer paid; no Plus VAT rate in the
account plan is needed, and nothing is guessed."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from integrator.models import SyncJob
from ledger.accounts import AccountPlan
from ledger.models import Allocation, LedgerItem
from ledger.posting_calls import NotBookable
from ledger.posting_invoices import PlusInvoices
from shops.clients.registry import client_for
from shops.clients.types import GatewayOrder, GatewayOrderLine
from tests import factories
from tests.ledger.sandbox_setup import (
    clearing_bank_account,
    failures,
    gateway_setup,
    line_totals,
    paid_by_rate,
    run_payouts,
)
from tests.ledger.test_klarna_vat_lines import FakeErp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_booking")]
TENANT = "kaffebonan"
CENT = Decimal("0.01")
ORDER_KEY = {"nets": "paymentId", "svea": "orderId"}


@pytest.fixture(params=["nets", "svea"])
def plus(request, sandbox, sandbox_server):
    """Nets or Svea Plus with no Plus VAT rate in the account plan: every rate is the gateway's."""
    clearing_bank_account(sandbox_server, TENANT)
    return gateway_setup(sandbox, request.param, TENANT, vat_rate=None)


def test_each_item_is_an_invoice_row_at_its_own_rate(sandbox, plus):
    job = run_payouts(plus)
    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED

    gateway = client_for(plus.gateway)
    company = sandbox.state()["visma"]["companies"][TENANT]
    invoices = {i["YourReference"]: i for i in company["customerinvoices"]}
    sold = LedgerItem.objects.filter(connection=plus.gateway)
    assert sold.count() >= 20
    rates_seen: set[Decimal] = set()
    mixed = 0
    for item in sold:
        sale = Allocation.objects.filter(item=item, line__type="sale").get().line
        order = gateway.gateway_order(str(sale.raw[ORDER_KEY[plus.gateway.platform]]))
        invoice = invoices[item.natural_key]
        rows = invoice["Rows"]
        assert len(rows) == len(order.lines)  # one row per item
        assert [r["ArticleNumber"] for r in rows] == [f"PLUS-{ln.vat_rate:f}" for ln in order.lines]
        assert all(
            line.reference in row["Text"] and line.name in row["Text"]
            for row, line in zip(rows, order.lines, strict=True)
        )
        assert paid_by_rate(rows) == line_totals(order.lines)  # to the öre, per rate
        assert Decimal(str(invoice["TotalAmount"])) == sale.gross == order.amount
        rates = {line.vat_rate for line in order.lines}
        rates_seen |= rates
        mixed += rates == {Decimal(25), Decimal(12), Decimal(6)}
    assert rates_seen == {Decimal(6), Decimal(12), Decimal(25)}
    assert mixed, "an order with items at 25, 12 and 6 % was booked"


def test_a_refund_is_credited_with_the_items_that_came_back(sandbox, plus):
    run_payouts(plus)
    gateway = client_for(plus.gateway)
    invoices = {
        i["Id"]: i for i in sandbox.state()["visma"]["companies"][TENANT]["customerinvoices"]
    }
    refunds = Allocation.objects.filter(
        item__connection=plus.gateway, line__type="refund"
    ).select_related("line")
    assert refunds.exists()
    for allocation in refunds:
        order = gateway.gateway_order(str(allocation.line.raw[ORDER_KEY[plus.gateway.platform]]))
        (refund,) = order.refunds
        credit = invoices[allocation.remote_id]
        assert credit["IsCreditInvoice"] is True
        assert Decimal(str(credit["TotalAmount"])) == allocation.line.gross == -refund.amount
        assert paid_by_rate(credit["Rows"]) == {r: -t for r, t in line_totals(refund.lines).items()}
        assert Decimal(str(credit["RemainingAmount"])) == 0  # settled in the customer ledger


def test_a_company_buyer_is_invoiced_by_its_organisation_number(sandbox, plus):
    run_payouts(plus)
    gateway = client_for(plus.gateway)
    visma = sandbox.state()["visma"]["companies"][TENANT]
    customers = {c["Id"]: c for c in visma["customers"]}
    invoices = {i["YourReference"]: i for i in visma["customerinvoices"]}
    companies = 0
    for item in LedgerItem.objects.filter(connection=plus.gateway):
        sale = Allocation.objects.filter(item=item, line__type="sale").get().line
        order = gateway.gateway_order(str(sale.raw[ORDER_KEY[plus.gateway.platform]]))
        customer = customers[invoices[item.natural_key]["CustomerId"]]
        if order.organisation_number:
            companies += 1
            assert customer["CorporateIdentityNumber"] == order.organisation_number
            assert customer["Name"] == order.company_name
        else:
            assert customer["IsPrivatePerson"] is True
    assert companies, "the demo has company buyers"


def test_a_total_visma_would_round_differently_is_refused_not_rounded_away(merchant):
    gateway = factories.gateway_integration(merchant, "nets", flow="plus").gateway
    invoices = PlusInvoices(FakeErp(), gateway, AccountPlan.for_customer(merchant))
    # 0.02 incl. 25 % VAT cannot be written as a net price: 0.01 → 0.01, 0.02 → 0.03.
    line = GatewayOrderLine(
        "X", "Vara", "", Decimal(1), Decimal("0.02"), Decimal(25), Decimal("0.02"), CENT, CENT
    )
    order = GatewayOrder("p-1", "1", "SEK", Decimal("0.02"), (line,))
    sale = SimpleNamespace(gross=Decimal("0.02"), currency="SEK", raw={})
    rows = invoices.sale_rows(order, [sale], "1")
    with pytest.raises(NotBookable, match="We do not add a rounding row"):
        invoices.check_total(rows, Decimal("0.02"), "1")
