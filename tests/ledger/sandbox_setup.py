"""A merchant with a gateway integration against the running sandbox: the Visma company and the
gateway of one demo tenant, and a "payouts" job to run through the engine like the worker does."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrator import services as engine
from integrator.models import Integration, SyncJob
from ledger.accounts import AccountPlan
from shops.clients.types import Address, ErpCustomer, NewErpCustomer
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


def webshop_customer(erp: Any, number: str = "W-1") -> ErpCustomer:
    """The private buyer a webshop integration invoiced in Visma (Basic/Pay tests)."""
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
            currency="SEK",
            terms_of_payment_id=erp.default_terms_of_payment_id(),
        )
    )


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
