"""Booking payouts in Visma through its API, against the sandbox: Plus makes one invoice and one
payment per order and one voucher per payout, exactly once, whatever is retried or lost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrator.models import SyncJob
from ledger.models import Allocation, LedgerItem, Payout, Voucher
from tests.ledger.sandbox_setup import clearing_bank_account, failures, gateway_setup, run_payouts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_booking")]
TENANT = "kaffebonan"


@pytest.fixture
def klarna_plus(sandbox, sandbox_server):
    clearing_bank_account(sandbox_server, TENANT)
    return gateway_setup(sandbox, "klarna", TENANT)


def _company(sandbox):
    return sandbox.state()["visma"]["companies"][TENANT]


def test_it_books_one_invoice_and_payment_per_order_and_one_voucher_per_payout(
    sandbox, klarna_plus
):
    job = run_payouts(klarna_plus)
    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED

    payouts = Payout.objects.filter(connection=klarna_plus.gateway)
    assert payouts.count() == 4
    sold = LedgerItem.objects.filter(connection=klarna_plus.gateway)
    invoices = sandbox.create_calls("visma", "customerinvoices")
    keys = set(sold.values_list("natural_key", flat=True))
    assert keys <= set(invoices)
    assert all(invoices[key] == 1 for key in keys)
    assert not Allocation.objects.filter(item__in=sold, state="pending").exists()

    company = _company(sandbox)
    paid = [
        p
        for p in company["payments"]
        if p["PaymentDate"].startswith("2026-11") and p["PaymentAmount"] > 0
    ]
    sale_allocations = Allocation.objects.filter(item__in=sold, line__type="sale")
    assert len(paid) == sale_allocations.count()
    assert {p["CompanyBankAccountId"] for p in paid} == {"00000000-0000-0000-0000-000000001686"}
    vouchers = sandbox.create_calls("visma", "vouchers")
    assert sorted(vouchers.values()) == [1] * Voucher.objects.filter(payout__in=payouts).count()
    assert not Voucher.objects.filter(payout__in=payouts, state="draft").exists()


def test_it_creates_nothing_new_when_run_again(sandbox, klarna_plus):
    run_payouts(klarna_plus)
    written = ("customers", "articles", "customerinvoicedrafts", "customerinvoices", "vouchers")
    calls = {c: sandbox.create_calls("visma", c) for c in written}
    payments = len(_company(sandbox)["payments"])

    again = run_payouts(klarna_plus)
    assert again.status == SyncJob.Status.SUCCEEDED
    assert {c: sandbox.create_calls("visma", c) for c in calls} == calls
    assert len(_company(sandbox)["payments"]) == payments


def test_a_lost_answer_to_an_invoice_still_ends_with_exactly_one(sandbox, klarna_plus):
    sandbox.fail_next("POST", "/visma/v2/customerinvoicedrafts", "drop")
    sandbox.fail_next("POST", "/visma/v2/vouchers", "drop")
    job = run_payouts(klarna_plus)
    assert failures(job) == []
    invoices = sandbox.create_calls("visma", "customerinvoices")
    drafts = sandbox.create_calls("visma", "customerinvoicedrafts")
    assert set(invoices.values()) == {1}
    assert set(drafts.values()) == {1}
    assert set(sandbox.create_calls("visma", "vouchers").values()) == {1}


def test_a_refund_becomes_a_credit_invoice_settled_in_the_customer_ledger(sandbox, klarna_plus):
    run_payouts(klarna_plus)
    refunds = Allocation.objects.filter(
        item__connection=klarna_plus.gateway, line__type__in=["refund", "chargeback"]
    ).select_related("line", "item")
    assert refunds.exists()
    company = _company(sandbox)
    invoices = {i["Id"]: i for i in company["customerinvoices"]}
    settled = {p["_InvoiceId"]: p for p in company["payments"] if p["PaymentAmount"] < 0}
    for allocation in refunds:
        credit = invoices[allocation.remote_id]
        assert credit["IsCreditInvoice"] is True
        assert Decimal(str(credit["TotalAmount"])) == allocation.line.gross
        # Paid back from the clearing account: nothing stays open in Visma's customer ledger.
        assert Decimal(str(credit["RemainingAmount"])) == 0
        payment = settled[credit["Id"]]
        assert Decimal(str(payment["PaymentAmount"])) == allocation.line.gross
        assert payment["CompanyBankAccountId"] == "00000000-0000-0000-0000-000000001686"
    # So the payout's voucher no longer debits receivables for it (that would book it twice),
    # and still balances.
    refunded = refunds.first().line.payout
    voucher = refunded.vouchers.get()
    assert not voucher.rows.filter(account="1510").exists()
    assert sum(r.amount for r in voucher.rows.all()) == 0


def test_a_closed_period_refuses_with_the_reason(sandbox, klarna_plus):
    import requests

    requests.post(
        f"{sandbox.root}/_sandbox/visma/company",
        json={"company": TENANT, "AccountingLockedTo": "2026-11-30"},
        timeout=5,
    ).raise_for_status()
    job = run_payouts(klarna_plus)
    assert job.status == SyncJob.Status.PARTIAL
    reasons = failures(job)
    assert len(reasons) == 4 and all("locked" in r for r in reasons)
    assert sandbox.create_calls("visma", "customerinvoices") == {}
    assert Voucher.objects.filter(state="draft").count() == 4


def test_a_missing_vat_rate_is_not_guessed(sandbox, sandbox_server):
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "stripe", TENANT, vat_rate=None)
    job = run_payouts(integration)
    assert any("gives no VAT rate" in r for r in failures(job))
    assert sandbox.create_calls("visma", "customerinvoices") == {}
