"""The merchants of the chaos run, the work they give the engine, and what support staff do.

Runs inside the chaos script's own Django (pointed at the run's own PostgreSQL and Redis) and
talks to the sandbox over HTTP, like the workers do. Three merchants, as many as the sandbox has
Visma companies for:

- Norrsken (Jetshop → Visma, orders become Visma orders),
- Fjällboken (Jetshop → Visma, orders become customer invoices),
- Kaffebönan (Klarna, Nets and Svea Plus: every order in a payout booked as its own invoice,
  its payment, and one voucher per payout).

The shops' shoppers are the "many customers": every returning shopper and company is a Visma
customer created once.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.db import close_old_connections

from billing.models import Customer, Package, Subscription
from integrator import services
from integrator.models import Integration, SyncJob
from ledger.accounts import AccountPlan
from shops.models import Connection
from shops.sandbox.demo_data import ARTICLES, FJALLBOK, KAFFEBONAN, NORRSKEN, demo_connection_any

SHOPS = {NORRSKEN: Integration.OrderTarget.ORDER, FJALLBOK: Integration.OrderTarget.INVOICE}
GATEWAYS = ("klarna", "nets", "svea")
# The gateways' payouts are dated one a day from 2026-11-03 on.
FIRST_PAYOUT_DAY = datetime.date(2026, 11, 3)
CANCELLED = 6  # Norce's StatusId for a cancelled order


class Sandbox:
    """The sandbox's control endpoints, which are never faulted."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = requests.post(f"{self.root}/_sandbox/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def state(self, system: str = "") -> dict[str, Any]:
        params = {"system": system} if system else {}
        response = requests.get(f"{self.root}/_sandbox/state", params=params, timeout=120)
        response.raise_for_status()
        return response.json()

    def generate_orders(self, shop: str, count: int, seed: int) -> int:
        return int(
            self.post("jetshop/generate", {"shop": shop, "orders": count, "seed": seed})["created"]
        )

    def generate_payouts(self, gateway: str, payouts: int, per_payout: int) -> int:
        body = {"tenant": KAFFEBONAN, "payouts": payouts, "transactions_per_payout": per_payout}
        return int(self.post(f"{gateway}/generate", body)["transactions"])

    def expire_visma_tokens(self, tenant: str) -> None:
        self.post("visma/expire_tokens", {"company": tenant})


def _customer(name: str, organisation_number: str, package: str) -> Customer:
    customer = Customer.objects.create(
        name=name, organisation_number=organisation_number, contact_email="ekonomi@example.se"
    )
    Subscription.objects.create(
        customer=customer,
        package=Package.objects.get(code=package),
        start_date=datetime.date(2026, 1, 1),
    )
    return customer


def _connection(customer: Customer, platform: str, tenant: str, sandbox: Sandbox) -> Connection:
    base_url, credentials = demo_connection_any(platform, tenant, sandbox.root)
    connection = Connection(
        customer=customer, name=f"{platform} {tenant}", platform=platform, base_url=base_url
    )
    connection.credentials = credentials
    connection.save()
    return connection


def set_up(sandbox: Sandbox) -> list[Integration]:
    """The merchants, their connections and integrations, as support would set them up."""
    get_user_model().objects.create_user("support", is_staff=True)
    integrations = []
    for tenant, numbers in ((NORRSKEN, "556036-0793"), (FJALLBOK, "556677-8899")):
        customer = _customer(f"{tenant.title()} AB", numbers, "800")
        erp = _connection(customer, "visma", tenant, sandbox)
        shop = _connection(customer, "jetshop", tenant, sandbox)
        integration = Integration.objects.create(
            customer=customer,
            name=f"Jetshop {tenant} → Visma",
            flow=Integration.Flow.ERP_MASTER,
            erp=erp,
            order_target=SHOPS[tenant],
        )
        integration.shops.set([shop])
        integrations.append(integration)
        _articles_the_merchant_keeps_in_visma(sandbox, tenant)
    coffee = _customer("Kaffebönan AB", "556123-4567", "100")
    AccountPlan.objects.update_or_create(customer=coffee, defaults={"plus_vat_rate": Decimal("25")})
    erp = _connection(coffee, "visma", KAFFEBONAN, sandbox)
    for gateway in GATEWAYS:
        integrations.append(
            Integration.objects.create(
                customer=coffee,
                name=f"{gateway.title()} Plus",
                flow=Integration.Flow.GATEWAY_PLUS,
                erp=erp,
                gateway=_connection(coffee, gateway, KAFFEBONAN, sandbox),
            )
        )
    return integrations


def _articles_the_merchant_keeps_in_visma(sandbox: Sandbox, tenant: str) -> None:
    """A few demo orders sell articles the demo Visma company lacks, on purpose: those wait for
    a person. Here the merchant has added them in Visma before the run, so every order can go."""
    known = {number for number, *_rest in ARTICLES[tenant]}
    orders = sandbox.state("jetshop")["jetshop"]["shops"][tenant]["orders"]
    missing = {
        item["PartNo"]: item
        for order in orders
        for item in order["Items"]
        if item["PartNo"] not in known
    }
    if missing:
        articles = [
            {
                "Number": number,
                "Name": item.get("Name") or number,
                "NetPrice": str(item["UnitPrice"]),
            }
            for number, item in missing.items()
        ]
        sandbox.post("visma/articles", {"company": tenant, "articles": articles})


# --- the work ----------------------------------------------------------------------------------


def payout_window(payouts: int) -> dict[str, str]:
    """The period holding `payouts` payouts a gateway, as a person would pick it in the admin
    (Svea is read one day at a time, so the window is no wider than it must be)."""
    until = FIRST_PAYOUT_DAY + datetime.timedelta(days=payouts + 1)
    return {
        "since": (FIRST_PAYOUT_DAY - datetime.timedelta(days=2)).isoformat(),
        "until": until.isoformat(),
    }


def enqueue(
    integration: Integration, *, window: dict[str, str], trigger: str = SyncJob.Trigger.SCHEDULE
) -> SyncJob:
    """What the schedule does (and a person with "run now"): a job for the integration, unless
    one is already queued or running."""
    close_old_connections()
    if integration.flow == Integration.Flow.GATEWAY_PLUS:
        job, _created = services.job_enqueue(
            integration=integration,
            kind=SyncJob.Kind.PAYOUTS,
            trigger=trigger,
            options=window,
        )
    else:
        job, _created = services.job_enqueue(
            integration=integration, kind=SyncJob.Kind.ORDERS, trigger=trigger
        )
    return job


def retry_failed_jobs() -> list[SyncJob]:
    """What support staff do: read each failed or partly failed job that nobody retried yet and
    retry it (the job admin's "retry" action). Returns the new jobs."""
    close_old_connections()
    user = get_user_model().objects.get(username="support")
    retried = []
    for job in SyncJob.objects.filter(
        status__in=[SyncJob.Status.FAILED, SyncJob.Status.PARTIAL], retries__isnull=True
    ).select_related("integration"):
        new = services.job_retry(job=job, user=user)
        # None, or the job of that kind already queued or running: retried once that one ends.
        if new is not None and new.retry_of_id == job.pk:
            retried.append(new)
    return retried


def active_jobs() -> int:
    close_old_connections()
    return SyncJob.objects.filter(status__in=SyncJob.ACTIVE).count()


def progress() -> str:
    """One line for the log: what is through so far, and the jobs."""
    from integrator.models import Link
    from ledger.models import Allocation

    close_old_connections()
    orders = Link.objects.filter(entity="order", state=Link.State.DONE).count()
    booked = Allocation.objects.filter(state="booked").count()
    pending = Allocation.objects.filter(state="pending").count()
    jobs = {
        status: SyncJob.objects.filter(status=status).count() for status in SyncJob.Status.values
    }
    shown = ", ".join(f"{k} {v}" for k, v in jobs.items() if v)
    return f"orders in Visma {orders}; payments booked {booked} (pending {pending}); jobs: {shown}"
