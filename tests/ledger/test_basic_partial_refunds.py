"""Basic/Pay: a partial refund of an order the webshop invoiced is credited the way an accountant
would — the rows that came back when the refund is exactly those, else one row per VAT rate in
proportion — each refund its own credit invoice exactly once, never more than the invoice in
all, and every credit settled in Visma's customer ledger (RemainingAmount 0)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from integrator.models import SyncJob
from ledger.models import Allocation, Payout
from shops.clients.registry import client_for
from tests import factories
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
TENANT = "kaffebonan"
CENT = Decimal("0.01")
# (article number, VAT rate, quantity, unit price excl. VAT): 250.00 + 56.00 + 100.00 = 406.00
ORDER_ROWS = (
    ("T-KVARN", 25, 2, "100.00"),
    ("T-FIKA", 12, 1, "50.00"),
    ("T-KAFFE", 6, 1, "94.34"),
)


@pytest.fixture
def shop_order(sandbox, sandbox_server):
    """A Basic/Pay integration and order 9001 the webshop integration invoiced in Visma."""
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT, flow="basic")
    merchant = integration.customer
    shop = factories.connection(merchant, "jetshop", name="Butiken")
    webshop = factories.integration(merchant, integration.erp, [shop], name="Butik → Visma")
    erp = client_for(integration.erp)
    customer = webshop_customer(erp, "W-9001")
    invoice = webshop_invoice(erp, customer.id, f"WEB-{shop.pk}-9001", ORDER_ROWS)
    assert invoice.total_amount == Decimal("406.00")
    factories.order_link(webshop, shop, "9001", target_id=invoice.id)
    return integration


def _payout(integration, reference: str, *refunds: str) -> Payout:
    return refund_payout(integration, reference, "9001", *refunds)


def _company(sandbox):
    return sandbox.state()["visma"]["companies"][TENANT]


def _credits(sandbox, integration) -> dict[str, dict]:
    """The credit invoices Visma holds for the payout lines, by the line's amount."""
    invoices = {i["Id"]: i for i in _company(sandbox)["customerinvoices"]}
    return {
        str(-a.line.gross): invoices[a.remote_id]
        for a in Allocation.objects.filter(item__connection=integration.gateway).select_related(
            "line"
        )
        if a.remote_id
    }


def _gross_by_rate(rows) -> dict[Decimal, Decimal]:
    rates = {number: Decimal(rate) for number, rate, _q, _p in ORDER_ROWS}
    totals: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in rows:
        number = row["ArticleNumber"]
        rate = rates.get(number) or Decimal(number.rsplit("-", 1)[1])
        net = (Decimal(str(row["UnitPrice"])) * Decimal(str(row["Quantity"]))).quantize(CENT)
        totals[rate] += net + (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return dict(totals)


def test_a_refund_of_one_row_credits_exactly_that_row(sandbox, shop_order):
    _payout(shop_order, "P-1", "56.00", "125.00")
    job = run_payouts(shop_order, fetch=False)
    assert failures(job) == []

    credits = _credits(sandbox, shop_order)
    fika = credits["56.00"]
    assert fika["IsCreditInvoice"] is True
    assert [(r["ArticleNumber"], r["Quantity"]) for r in fika["Rows"]] == [("T-FIKA", -1)]
    assert Decimal(str(fika["TotalAmount"])) == Decimal("-56.00")
    # One of the two grinders came back: one unit of that row.
    kvarn = credits["125.00"]
    assert [(r["ArticleNumber"], r["Quantity"]) for r in kvarn["Rows"]] == [("T-KVARN", -1)]
    assert Decimal(str(kvarn["TotalAmount"])) == Decimal("-125.00")


def test_a_refund_of_no_particular_rows_is_split_over_the_invoices_vat_rates(sandbox, shop_order):
    _payout(shop_order, "P-2", "40.60")
    job = run_payouts(shop_order, fetch=False)
    assert failures(job) == []

    credit = _credits(sandbox, shop_order)["40.60"]
    assert Decimal(str(credit["TotalAmount"])) == Decimal("-40.60")
    # 10 % of the order at each of its rates: 25.00 at 25 %, 5.60 at 12 %, 10.00 at 6 %.
    assert _gross_by_rate(credit["Rows"]) == {
        Decimal(25): Decimal("-25.00"),
        Decimal(12): Decimal("-5.60"),
        Decimal(6): Decimal("-10.00"),
    }
    assert [r["ArticleNumber"] for r in credit["Rows"]] == ["RETUR-25", "RETUR-12", "RETUR-6"]
    assert all(r["Text"].startswith("Återbetalning order 9001") for r in credit["Rows"])


def test_each_refund_is_credited_and_settled_exactly_once_though_answers_are_lost(
    sandbox, shop_order
):
    payout = _payout(shop_order, "P-3", "56.00", "40.60")
    sandbox.fail_next("POST", "/visma/v2/customerinvoicedrafts", "drop")
    sandbox.fail_next("POST", "/visma/v2/customerinvoices/", "drop")
    job = run_payouts(shop_order, fetch=False)
    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED
    assert sandbox.state()["faults_injected"]["drop"] == 2

    credits = _credits(sandbox, shop_order)
    assert set(credits) == {"56.00", "40.60"}
    keys = {c["YourReference"] for c in credits.values()}
    assert len(keys) == 2  # each refund its own credit invoice, with its own key
    made = sandbox.create_calls("visma", "customerinvoices")
    assert {k: made[k] for k in keys} == dict.fromkeys(keys, 1)
    # Settled in the customer ledger, once each, from the clearing account.
    assert all(Decimal(str(c["RemainingAmount"])) == 0 for c in credits.values())
    settlements = [p for p in _company(sandbox)["payments"] if p["PaymentAmount"] < 0]
    assert sorted(Decimal(str(p["PaymentAmount"])) for p in settlements) == [
        Decimal("-56.00"),
        Decimal("-40.60"),
    ]
    assert {p["CompanyBankAccountId"] for p in settlements} == {
        "00000000-0000-0000-0000-000000001686"
    }
    # The voucher holds the transfer only, balanced, without a receivables row for the refunds.
    rows = {r.account: r.amount for r in payout.vouchers.get().rows.all()}
    assert rows == {"1930": Decimal("903.40"), "1686": Decimal("-903.40")}
    again = run_payouts(shop_order, fetch=False)
    assert again.status == SyncJob.Status.SUCCEEDED
    assert len([p for p in _company(sandbox)["payments"] if p["PaymentAmount"] < 0]) == 2


def test_refunds_beyond_the_invoice_are_refused(sandbox, shop_order):
    _payout(shop_order, "P-4", "300.00")
    assert failures(run_payouts(shop_order, fetch=False)) == []
    _payout(shop_order, "P-5", "200.00")
    job = run_payouts(shop_order, fetch=False)

    (reason,) = failures(job)
    assert "more than what remains to credit (106.00)" in reason
    assert set(_credits(sandbox, shop_order)) == {"300.00"}


def test_a_row_an_earlier_refund_took_back_is_not_credited_again(sandbox, shop_order):
    _payout(shop_order, "P-6", "56.00")
    assert failures(run_payouts(shop_order, fetch=False)) == []
    _payout(shop_order, "P-7", "56.00")
    assert failures(run_payouts(shop_order, fetch=False)) == []

    invoices = {i["Id"]: i for i in _company(sandbox)["customerinvoices"]}
    first, second = (
        invoices[a.remote_id]
        for a in Allocation.objects.filter(item__connection=shop_order.gateway).order_by(
            "line__payout__reference"
        )
    )
    assert [r["ArticleNumber"] for r in first["Rows"]] == ["T-FIKA"]
    # The one fika came back already: the second 56.00 is spread over the invoice's rates.
    assert [r["ArticleNumber"] for r in second["Rows"]] == ["RETUR-25", "RETUR-12", "RETUR-6"]
    assert Decimal(str(second["TotalAmount"])) == Decimal("-56.00")
