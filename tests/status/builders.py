"""Builders for status page tests: a merchant with integrations, connections, jobs, payouts and
service hours, and bulk history for the query-count test and the benchmark."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from billing.models import Customer, HourPurchase, TimeEntry, TransferredOrder
from integrator.models import Integration, MerchantAccess, StatusPage, SyncItem, SyncJob
from ledger.models import Payout, PayoutLine
from shops.models import Connection
from tests import factories

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
AUTH_EXPIRED = (
    "Visma eEkonomi refused the authorisation (invalid_grant): the merchant must reconnect. "
    "refresh_token=rt-SECRET-abc123"
)


@dataclass
class World:
    customer: Customer
    shop: Connection
    erp: Connection
    gateway: Connection
    integration: Integration
    staff: User
    token: str = ""

    @property
    def status_url(self) -> str:
        return f"/status/{self.token}/"


def world(
    name: str, *, tag: str, package_code: str = "200", now: datetime.datetime | None = None
) -> World:
    """A merchant called `name` whose every visible name carries `tag`, so a test can tell whose
    data a page shows."""
    now = now or timezone.now()
    customer = factories.customer(
        name=name, package_code=package_code, contact_email=f"{tag.lower()}@example.se"
    )
    shop = factories.connection(customer, "jetshop", name=f"{tag} webbshop")
    erp = factories.connection(customer, "visma", name=f"{tag} bokföring")
    gateway = factories.connection(customer, "klarna", name=f"{tag} Klarna")
    integration = factories.integration(customer, erp, [shop], name=f"{tag} Jetshop → Visma")
    staff = User.objects.filter(username="konsult").first() or User.objects.create_user(
        "konsult", first_name="Kim", last_name="Konsult", is_staff=True
    )
    for connection in (shop, erp, gateway):
        connection.record_success()
    _page, token = StatusPage.issue(customer)
    return World(customer, shop, erp, gateway, integration, staff, token)


def job(
    world: World, kind: str, *, status: str, at: datetime.datetime, error: str = "", **fields
) -> SyncJob:
    return SyncJob.objects.create(
        integration=world.integration,
        kind=kind,
        status=status,
        trigger=SyncJob.Trigger.SCHEDULE,
        created_at=at,
        started_at=at,
        finished_at=at + datetime.timedelta(minutes=1),
        error=error,
        **fields,
    )


def items(
    job: SyncJob,
    object_type: str,
    keys: list[str],
    *,
    outcome: str = SyncItem.Outcome.TRANSFERRED,
    message: str = "",
) -> None:
    SyncItem.objects.bulk_create(
        SyncItem(
            job=job,
            object_type=object_type,
            key=key,
            outcome=outcome,
            message=message,
            created_at=job.created_at + datetime.timedelta(seconds=i),
        )
        for i, key in enumerate(keys)
    )


def payout(
    world: World, reference: str, *, day: datetime.date, net: str, status: str, unmatched: int = 0
) -> Payout:
    created = Payout.objects.create(
        connection=world.gateway,
        reference=reference,
        payout_date=day,
        gross=Decimal(net) + Decimal("10.00"),
        fees=Decimal("10.00"),
        net=Decimal(net),
        status=status,
    )
    PayoutLine.objects.bulk_create(
        PayoutLine(
            payout=created,
            line_no=n,
            type=PayoutLine.Type.SALE,
            order_reference=f"{reference}-{n}",
            currency="SEK",
            gross=Decimal("100.00"),
            fee=Decimal("0"),
            net=Decimal("100.00"),
            match=PayoutLine.Match.UNMATCHED if n <= unmatched else PayoutLine.Match.MATCHED,
            raw={},
        )
        for n in range(1, 4)
    )
    return created


def hours(world: World, *, bought: str, worked: list[tuple[datetime.date, str, str]]) -> None:
    HourPurchase.objects.create(
        customer=world.customer,
        date=worked[0][0] if worked else timezone.localdate(),
        hours=Decimal(bought),
        price=Decimal("9500"),
    )
    for day, amount, text in worked:
        TimeEntry.objects.create(
            customer=world.customer,
            date=day,
            hours=Decimal(amount),
            category=TimeEntry.Category.QUALIFIED_SUPPORT,
            description=text,
            staff=world.staff,
        )


def merchant_login(world: World, username: str, password: str = "hemligt-lösen-123") -> User:
    user = User.objects.create_user(username, email=f"{username}@example.se", password=password)
    MerchantAccess.objects.create(user=user, customer=world.customer)
    return user


def history(
    world: World, *, days: int, now: datetime.datetime, orders_per_day: int = 20, articles: int = 40
) -> None:
    """`days` of everyday life, written with bulk_create: `orders_per_day` order transfers a
    day, a stock and a price update every day, a Klarna payout every day, orders counted against
    the quota, a time entry every week."""
    jobs, per_job = [], []
    today = timezone.localdate(now)
    for d in range(days):
        # Each Stockholm day gets exactly its share; today's runs are never in the future.
        midnight = datetime.datetime.combine(
            today - datetime.timedelta(days=d), datetime.time(0, 1), tzinfo=STOCKHOLM
        )
        for m in range(orders_per_day):
            at = min(midnight + datetime.timedelta(minutes=m * (1380 // orders_per_day)), now)
            jobs.append(
                SyncJob(
                    integration=world.integration,
                    kind=SyncJob.Kind.ORDERS,
                    status=SyncJob.Status.SUCCEEDED,
                    trigger=SyncJob.Trigger.SCHEDULE,
                    created_at=at,
                    started_at=at,
                    finished_at=at,
                    transferred=1,
                )
            )
            per_job.append(("order", 1))
        for kind, object_type in ((SyncJob.Kind.STOCK, "stock"), (SyncJob.Kind.PRICES, "price")):
            at = min(midnight + datetime.timedelta(minutes=1), now)
            jobs.append(
                SyncJob(
                    integration=world.integration,
                    kind=kind,
                    status=SyncJob.Status.SUCCEEDED,
                    trigger=SyncJob.Trigger.SCHEDULE,
                    created_at=at,
                    started_at=at,
                    finished_at=at,
                    transferred=articles,
                )
            )
            per_job.append((object_type, articles))
    created = SyncJob.objects.bulk_create(jobs, batch_size=2000)
    if created[0].pk is None:  # backends that return no ids from bulk_create
        created = list(SyncJob.objects.filter(integration=world.integration).order_by("pk"))[
            -len(jobs) :
        ]
    rows = []
    for n, (saved, (object_type, count)) in enumerate(zip(created, per_job, strict=True)):
        for i in range(count):
            rows.append(
                SyncItem(
                    job=saved,
                    object_type=object_type,
                    key=f"{object_type}-{n}-{i}",
                    outcome=SyncItem.Outcome.TRANSFERRED,
                    created_at=saved.created_at,
                )
            )
    SyncItem.objects.bulk_create(rows, batch_size=5000)
    orders = [
        TransferredOrder(
            customer=world.customer,
            reference=f"{world.customer.pk}-{n}",
            transferred_at=job.created_at,
            transferred_on=timezone.localtime(job.created_at).date(),
        )
        for n, job in enumerate(j for j in jobs if j.kind == SyncJob.Kind.ORDERS)
    ]
    TransferredOrder.objects.bulk_create(orders, batch_size=5000)
    payouts = Payout.objects.bulk_create(
        [
            Payout(
                connection=world.gateway,
                reference=f"H-{world.customer.pk}-{d}",
                payout_date=today - datetime.timedelta(days=d),
                gross=Decimal("1010.00"),
                fees=Decimal("10.00"),
                net=Decimal("1000.00"),
                status=Payout.Status.BOOKED,
            )
            for d in range(days)
        ],
        batch_size=2000,
    )
    if payouts[0].pk is None:
        payouts = list(
            Payout.objects.filter(
                connection=world.gateway, reference__startswith=f"H-{world.customer.pk}-"
            )
        )
    PayoutLine.objects.bulk_create(
        [
            PayoutLine(
                payout=p,
                line_no=n,
                type=PayoutLine.Type.SALE,
                currency="SEK",
                gross=Decimal("336.67"),
                fee=Decimal("3.34"),
                net=Decimal("333.33"),
                match=PayoutLine.Match.MATCHED,
                raw={},
            )
            for p in payouts
            for n in range(1, 4)
        ],
        batch_size=5000,
    )
    TimeEntry.objects.bulk_create(
        [
            TimeEntry(
                customer=world.customer,
                date=today - datetime.timedelta(days=d),
                hours=Decimal("0.50"),
                category=TimeEntry.Category.QUALIFIED_SUPPORT,
                description=f"Support {d}",
                staff=world.staff,
            )
            for d in range(0, days, 7)
        ]
    )


def page_text(response) -> str:
    """The words a merchant reads: tags, styles and repeated whitespace removed."""
    import html
    import re

    body = response.content.decode()
    body = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
