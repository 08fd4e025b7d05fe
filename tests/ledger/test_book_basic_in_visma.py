"""Basic/Pay against the sandbox: a payout pays the invoices the webshop integration made (found
by the order link's YourReference); nothing is invoiced again. And the fee voucher of a gateway
abroad carries reverse-charge VAT."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from integrator.models import Link, SyncJob
from ledger.fetch import fetch_payouts
from ledger.models import Payout, PayoutLine
from ledger.posting_documents import net_price
from shops.clients.registry import client_for
from shops.clients.types import NewInvoiceDraft, NewInvoiceRow
from tests import factories
from tests.ledger.sandbox_setup import (
    BUYER_ADDRESS,
    clearing_bank_account,
    failures,
    gateway_setup,
    run_payouts,
    webshop_customer,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("quick_booking")]
TENANT = "kaffebonan"
DAY = "2026-11-03"


def _webshop_invoices(integration, shop, lines: list[PayoutLine]) -> None:
    """What the orders flow left behind: an invoice per order in Visma and its done link."""
    erp = client_for(integration.erp)
    customer = webshop_customer(erp)
    article = erp.find_article("KAF-1001") or next(iter(erp.articles()))
    for line in lines:
        key = f"WEB-{shop.pk}-{line.order_reference}"
        draft = erp.create_invoice_draft(
            NewInvoiceDraft(
                customer_id=customer.id,
                your_reference=key,
                customer_is_private_person=True,
                invoice_address=BUYER_ADDRESS,
                delivery_address=None,
                invoice_date=datetime.date(2026, 11, 2),
                rows=[
                    NewInvoiceRow(
                        article_id=article.id,
                        text=article.name,
                        quantity=Decimal(1),
                        unit_price=net_price(line.gross, article.vat_rate or Decimal(25)),
                        discount_percent=Decimal(0),
                    )
                ],
            )
        )
        invoice = erp.convert_invoice_draft(draft.id)
        Link.objects.create(
            integration=integration,
            entity="order",
            source_connection=shop,
            source_id=line.order_reference,
            target_connection=integration.erp,
            target_id=invoice.id,
            natural_key=key,
            state=Link.State.DONE,
        )


def test_basic_pays_the_invoices_the_webshop_integration_made(sandbox, sandbox_server):
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT, flow="basic")
    merchant = integration.customer
    shop = factories.connection(merchant, "jetshop", name="Butiken")
    webshop = factories.integration(merchant, integration.erp, [shop], name="Butik → Visma")
    day = datetime.date.fromisoformat(DAY)
    fetch_payouts(connection=integration.gateway, since=day, until=day)
    payout = Payout.objects.get(connection=integration.gateway)
    sales = list(payout.lines.filter(type="sale"))
    _webshop_invoices(webshop, shop, sales)
    invoiced = dict(sandbox.create_calls("visma", "customerinvoices"))

    job = run_payouts(integration, since=DAY, until=DAY)
    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED
    assert sandbox.create_calls("visma", "customerinvoices") == invoiced  # none made by us
    company = sandbox.state()["visma"]["companies"][TENANT]
    assert sorted(Decimal(str(p["PaymentAmount"])) for p in company["payments"]) == sorted(
        line.gross for line in sales
    )
    assert all(Decimal(str(i["RemainingAmount"])) == 0 for i in company["customerinvoices"])


@pytest.mark.parametrize(("platform", "tenant"), [("stripe", "kaffebonan")])
def test_fees_from_abroad_carry_reverse_charge_vat_in_visma(
    sandbox, sandbox_server, platform, tenant
):
    clearing_bank_account(sandbox_server, tenant)
    integration = gateway_setup(sandbox, platform, tenant)
    job = run_payouts(integration, since=DAY, until=DAY)
    assert failures(job) == []
    company = sandbox.state()["visma"]["companies"][tenant]
    (voucher,) = [v for v in company["vouchers"] if v["VoucherDate"].startswith(DAY)]
    by_account = {row["AccountNumber"]: row for row in voucher["Rows"]}
    fees = Decimal(str(by_account[6570]["DebitAmount"]))
    assert Decimal(str(by_account[2645]["DebitAmount"])) == (fees / 4).quantize(Decimal("0.01"))
    assert Decimal(str(by_account[2614]["CreditAmount"])) == (fees / 4).quantize(Decimal("0.01"))


def test_stripe_plus_selling_abroad_is_refused_at_the_api_too(sandbox, sandbox_server):
    from ledger.accounts import AccountPlan

    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "stripe", TENANT)
    AccountPlan.objects.filter(customer=integration.customer).update(
        sells_in_several_countries=True
    )
    job = run_payouts(integration, since=DAY, until=DAY)
    assert any("cannot book this payout" in r for r in failures(job))
    assert sandbox.create_calls("visma", "customerinvoices") == {}
    assert sandbox.create_calls("visma", "vouchers") == {}
