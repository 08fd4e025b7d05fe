"""What the chaos run proves, read from the two places that cannot lie to each other: the
sandbox's own record of what was created in Visma (objects and create calls per natural key) and
our ledger and job records.

- orders: every order the shops hold (except cancelled ones) is in Visma exactly once, as an
  order or an invoice with YourReference WEB-<shop>-<number>;
- payouts: every payout the gateways made is imported; every payout line is booked (each of its
  allocations paid or credited in Visma), every invoice made once, no more payments in Visma than
  lines that pay; every payout's voucher posted once and balanced, here and in Visma;
- jobs: none queued or running, and every failed one has a retry.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from typing import Any

from django.db import close_old_connections
from django.db.models import Sum

from chaos.world import CANCELLED, GATEWAYS, SHOPS, Sandbox
from integrator.models import Integration, Link, SyncJob
from ledger.models import Allocation, LedgerItem, Payout, PayoutLine, Voucher
from ledger.posting import PAYING
from shops.models import Connection
from shops.sandbox.demo_data import KAFFEBONAN

BOOKED = LedgerItem.State.BOOKED


@dataclasses.dataclass
class Verdict:
    orders: int = 0
    orders_in_visma: int = 0
    payouts: int = 0
    payout_lines: int = 0
    lines_booked: int = 0
    vouchers: int = 0
    duplicates: int = 0
    lost: int = 0
    unbalanced: int = 0
    stuck: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.duplicates or self.lost or self.unbalanced or self.stuck)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def worst_problems(self, limit: int = 40) -> list[str]:
        """Duplicates and stuck work first: a long list of lost orders must not hide them."""
        return sorted(self.problems, key=lambda text: "not in Visma" in text)[:limit]


def _twice(verdict: Verdict, what: str, counts: dict[str, int]) -> None:
    for key, count in counts.items():
        if count > 1:
            verdict.duplicates += count - 1
            verdict.problem(f"{what} {key}: {count} times")


def judge(sandbox: Sandbox) -> Verdict:
    close_old_connections()
    verdict = Verdict()
    state = sandbox.state()
    visma = state["visma"]
    for collection, calls in visma["create_calls"].items():
        if collection != "payments":  # several payments of one invoice are normal; see below
            _twice(verdict, f"Visma {collection} create call", calls)
    _orders(verdict, state)
    _payouts(verdict, state)
    _jobs(verdict)
    return verdict


def _orders(verdict: Verdict, state: dict[str, Any]) -> None:
    for tenant, target in SHOPS.items():
        shop = Connection.objects.get(platform="jetshop", name=f"jetshop {tenant}")
        expected = {
            f"WEB-{shop.pk}-{order['OrderNo']}"
            for order in state["jetshop"]["shops"][tenant]["orders"]
            if order["StatusId"] != CANCELLED
        }
        company = state["visma"]["companies"][tenant]
        documents = "orders" if target == Integration.OrderTarget.ORDER else "customerinvoices"
        found = Counter(d["YourReference"] for d in company[documents] if d.get("YourReference"))
        verdict.orders += len(expected)
        verdict.orders_in_visma += len(expected & set(found))
        _twice(verdict, f"{tenant} {documents[:-1]}", found)
        for reference in sorted(expected - set(found)):
            verdict.lost += 1
            verdict.problem(f"{tenant}: order {reference} is not in Visma")
        for reference in sorted(set(found) - expected):
            verdict.duplicates += 1  # made from nothing the shop wants transferred
            verdict.problem(f"{tenant}: {reference} is in Visma but not a live shop order")
        pending = Link.objects.filter(
            source_connection=shop, entity="order", state=Link.State.PENDING
        ).count()
        if pending:
            verdict.stuck += pending
            verdict.problem(f"{tenant}: {pending} order link(s) still pending")


def _payouts(verdict: Verdict, state: dict[str, Any]) -> None:
    for gateway in GATEWAYS:
        connection = Connection.objects.get(platform=gateway)
        made = int(state[gateway]["merchants"][KAFFEBONAN]["payouts"])
        imported = Payout.objects.filter(connection=connection)
        verdict.payouts += made
        if imported.count() != made:
            verdict.lost += abs(made - imported.count())
            verdict.problem(f"{gateway}: {made} payouts made, {imported.count()} imported")
        for payout in imported.exclude(status=Payout.Status.BOOKED):
            verdict.lost += 1
            verdict.problem(f"{gateway}: payout {payout.reference} is {payout.status}")
    lines = PayoutLine.objects.filter(payout__connection__platform__in=GATEWAYS)
    verdict.payout_lines = lines.count()
    unbooked = lines.filter(allocations__state=LedgerItem.State.PENDING).distinct()
    verdict.lines_booked = verdict.payout_lines - unbooked.count()
    for line in unbooked[:10]:
        verdict.problem(f"payout line {line.pk} ({line.type} {line.order_reference}) not booked")
    verdict.lost += unbooked.count()

    company = state["visma"]["companies"][KAFFEBONAN]
    invoices = Counter(
        i["YourReference"] for i in company["customerinvoices"] if i.get("YourReference")
    )
    _twice(verdict, "Kaffebönan invoice", invoices)
    paying = Allocation.objects.filter(
        item__connection__platform__in=GATEWAYS, state=BOOKED, line__type__in=PAYING
    ).count()
    # A refund's credit invoice is settled by a negative payment of its own (ledger/posting.py):
    # those are counted per credit invoice, the rest against the lines that pay.
    settlements = Counter(
        p.get("_InvoiceId") for p in company["payments"] if Decimal(str(p["PaymentAmount"])) < 0
    )
    payments = len(company["payments"]) - sum(settlements.values())
    if payments > paying:
        verdict.duplicates += payments - paying
        verdict.problem(f"Visma holds {payments} payments for {paying} paying lines")
    _twice(verdict, "Kaffebönan credit settlement", settlements)
    overpaid = [i for i in company["customerinvoices"] if _overpaid(i)]
    verdict.duplicates += len(overpaid)
    for invoice in overpaid[:10]:
        verdict.problem(f"invoice {invoice['YourReference']} paid more than its amount")
    _vouchers(verdict, company)


def _overpaid(invoice: dict[str, Any]) -> bool:
    """More paid than owed: below zero for an invoice, above zero for a credit invoice."""
    remaining = Decimal(str(invoice["RemainingAmount"]))
    return remaining > 0 if invoice.get("IsCreditInvoice") else remaining < 0


def _vouchers(verdict: Verdict, company: dict[str, Any]) -> None:
    ours = Voucher.objects.filter(payout__connection__platform__in=GATEWAYS)
    verdict.vouchers = ours.count()
    for voucher in ours.annotate(total=Sum("rows__amount")):
        if voucher.total != 0:
            verdict.unbalanced += 1
            verdict.problem(f"voucher {voucher} does not balance: {voucher.total}")
        if voucher.state != Voucher.State.POSTED:
            verdict.lost += 1
            verdict.problem(f"voucher {voucher} is not posted to Visma")
    for remote in company["vouchers"]:
        debit = sum(Decimal(str(r.get("DebitAmount") or 0)) for r in remote["Rows"])
        credit = sum(Decimal(str(r.get("CreditAmount") or 0)) for r in remote["Rows"])
        if debit != credit:
            verdict.unbalanced += 1
            verdict.problem(f"Visma voucher {remote['VoucherText']} does not balance")


def _jobs(verdict: Verdict) -> None:
    active = SyncJob.objects.filter(status__in=SyncJob.ACTIVE)
    unretried = SyncJob.objects.filter(
        status__in=[SyncJob.Status.FAILED, SyncJob.Status.PARTIAL], retries__isnull=True
    )
    silent = SyncJob.objects.filter(status=SyncJob.Status.FAILED, error="")
    for label, jobs in (
        ("still queued or running", active),
        ("failed and not retried", unretried),
        ("failed without a reason", silent),
    ):
        for job in jobs[:10]:
            verdict.problem(f"job {job.pk} ({job.kind}, {job.integration}) {label}: {job.error}")
        verdict.stuck += jobs.count()
