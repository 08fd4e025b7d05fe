"""A merchant with a gateway integration against the running sandbox: the Visma company and the
gateway of one demo tenant, and a "payouts" job to run through the engine like the worker does."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrator import services as engine
from integrator.models import Integration, SyncJob
from ledger import services
from ledger.accounts import AccountPlan
from ledger.models import Payout, PayoutLine
from shops.clients.types import (
    Address,
    ErpCustomer,
    ErpInvoice,
    NewErpArticle,
    NewErpCustomer,
    NewInvoiceDraft,
    NewInvoiceRow,
)
from shops.sandbox.demo_data import demo_connection_any
from tests import factories

CENT = Decimal("0.01")
WINDOW = {"since": "2026-11-01", "until": "2026-11-30"}


def clearing_bank_account(sandbox_server: Any, tenant: str, account: int = 1686) -> None:
    """What the merchant does once in Visma: a bank account on the clearing account, which the
    gateway's payments are booked into. The sandbox has no API for it, so it is added here."""
    company = sandbox_server.state.systems["visma"].companies[tenant]
    if any(b.get("LedgerAccountNumber") == account for b in company.data["bankaccounts"]):
        return  # the demo company has it already
    company.data["bankaccounts"].add(
        {
            "Id": f"00000000-0000-0000-0000-00000000{account:04d}",
            "BankAccountType": 5,
            "Name": "Betaltjänster",
            "IsActive": True,
            "LedgerAccountNumber": account,
            "IsDefaultChequeAccount": False,
        }
    )


def gateway_setup(
    sandbox: Any,
    platform: str,
    tenant: str,
    *,
    flow: str = "plus",
    vat_rate: str | None = "25",
    customer: Any = None,
    erp: Any = None,
) -> Integration:
    merchant = customer or factories.customer(name=f"{tenant.title()} AB")
    if erp is None:
        url, credentials = demo_connection_any("visma", tenant, sandbox.root)
        erp = factories.connection(merchant, "visma", base_url=url, credentials=credentials)
    url, credentials = demo_connection_any(platform, tenant, sandbox.root)
    gateway = factories.connection(merchant, platform, base_url=url, credentials=credentials)
    AccountPlan.objects.update_or_create(
        customer=merchant, defaults={"plus_vat_rate": Decimal(vat_rate) if vat_rate else None}
    )
    return factories.integration(
        merchant, erp, [], flow=flow, gateway=gateway, name=f"{platform} {flow}"
    )


def run_payouts(integration: Integration, **options: Any) -> SyncJob:
    job, _created = engine.job_enqueue(
        integration=integration,
        kind=SyncJob.Kind.PAYOUTS,
        trigger=SyncJob.Trigger.MANUAL,
        options={**WINDOW, **options},
        queue=False,
    )
    finished = engine.job_run(job_id=job.pk)
    assert finished is not None
    return SyncJob.objects.get(pk=finished.pk)


def failures(job: SyncJob) -> list[str]:
    return [f"{i.key}: {i.message}" for i in job.items.filter(outcome="failed")]


BUYER_ADDRESS = Address("Elsa Nyström", "Gatan 1", "", "11122", "Stockholm", "SE")


def webshop_customer(erp: Any, number: str = "W-1", currency: str = "SEK") -> ErpCustomer:
    """The private buyer a webshop integration invoiced in Visma (Basic/Pay tests); Visma
    invoices a customer in its currency."""
    return erp.create_customer(
        NewErpCustomer(
            customer_number=number,
            name=BUYER_ADDRESS.name,
            is_private_person=True,
            email="",
            phone="",
            organisation_number="",
            vat_number="",
            invoice_address=BUYER_ADDRESS,
            delivery_address=None,
            currency=currency,
            terms_of_payment_id=erp.default_terms_of_payment_id(),
        )
    )


def webshop_invoice(
    erp: Any, customer_id: str, key: str, rows: tuple[tuple[str, int, int, str], ...]
) -> ErpInvoice:
    """The invoice the webshop integration made in Visma under YourReference `key`, in the
    customer's currency; rows are (article number, VAT rate, quantity, unit price excl. VAT),
    each article created."""
    unit_id = next(u.id for u in erp.units())
    invoice_rows = []
    for number, rate, quantity, price in rows:
        article = erp.create_article(
            NewErpArticle(
                number=number,
                name=number,
                unit_price=Decimal(price),
                coding_id=erp.coding_for_vat_rate(Decimal(rate)).id,
                unit_id=unit_id,
            )
        )
        invoice_rows.append(
            NewInvoiceRow(
                article_id=article.id,
                text=number,
                quantity=Decimal(quantity),
                unit_price=Decimal(price),
                discount_percent=Decimal(0),
            )
        )
    draft = erp.create_invoice_draft(
        NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=key,
            customer_is_private_person=True,
            invoice_address=BUYER_ADDRESS,
            delivery_address=None,
            invoice_date=datetime.date(2026, 11, 2),
            rows=invoice_rows,
        )
    )
    return erp.convert_invoice_draft(draft.id)


def refund_payout(
    integration: Integration,
    reference: str,
    order: str,
    *refunds: str,
    currency: str = "SEK",
    exchange_rate: Decimal | None = None,
) -> Payout:
    """A payout from the gateway, matched: a released reserve of 1000.00 and refunds of
    `order` (a Basic/Pay order the webshop invoiced)."""
    gross = [Decimal("1000.00")] + [-Decimal(r) for r in refunds]
    payout = Payout.objects.create(
        connection=integration.gateway,
        reference=reference,
        payout_date=datetime.date(2026, 11, 10),
        currency=currency,
        exchange_rate=exchange_rate,
        gross=sum(gross),
        net=sum(gross),
    )
    for n, amount in enumerate(gross, start=1):
        PayoutLine.objects.create(
            payout=payout,
            line_no=n,
            type="reserve_release" if n == 1 else "refund",
            order_reference="" if n == 1 else order,
            transaction_id=f"{reference}-{n}",
            currency=currency,
            gross=amount,
            net=amount,
            raw={},
        )
    services.payout_match(payout=payout)
    return payout


def paid_by_rate(rows: list[dict[str, Any]]) -> dict[Decimal, Decimal]:
    """What the buyer paid per VAT rate on a Visma invoice of generic Plus articles
    ("PLUS-25"…), as Visma computes it per row."""
    totals: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for row in rows:
        rate = Decimal(row["ArticleNumber"].rsplit("-", 1)[1])
        net = (Decimal(str(row["UnitPrice"])) * Decimal(str(row["Quantity"]))).quantize(CENT)
        totals[rate] += net + (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return dict(totals)


def line_totals(lines: Any) -> dict[Decimal, Decimal]:
    """What a gateway's order lines add up to per VAT rate."""
    totals: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for line in lines:
        totals[line.vat_rate] += line.total_amount
    return dict(totals)
