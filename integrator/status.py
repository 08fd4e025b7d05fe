"""Selectors for the merchant's status page: everything the page shows, read for one customer.

Each section is a fixed number of aggregated queries, whatever the customer's history: counts
are grouped in the database (per day, per status), never fetched row by row, and nothing loops
over integrations or days with a query inside. tests/status/test_query_count.py holds us to it.
Nothing here returns raw error messages: errors go through integrator.plain_errors.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case, Count, F, IntegerField, Max, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import quota as billing_quota
from billing.models import Customer
from integrator import plain_errors, status_money
from integrator.models import Integration, SyncItem, SyncJob
from integrator.plain_errors import PlainError
from shops.models import Connection

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
TRANSFER_DAYS = 14
RECENT_JOBS = 8
# The health of an integration is read from its recent jobs; older ones say nothing about today.
JOB_LOOKBACK = datetime.timedelta(days=30)

DEFAULT_SITE_URL = "http://localhost:8000"


def site_url() -> str:
    """Scheme and host for links in e-mails and commands: settings.SITE_URL, if set."""
    return (getattr(settings, "SITE_URL", "") or DEFAULT_SITE_URL).rstrip("/")


def status_link(token: str, base_url: str | None = None) -> str:
    return (base_url or site_url()).rstrip("/") + reverse("status-token", kwargs={"token": token})


# Lights, from the best to the worst; an integration shows the worst of its parts.
OFF, UNKNOWN, OK, PARTIAL, ERROR, ACTION = "off", "unknown", "ok", "partial", "error", "action"
_RANK = {OFF: 0, UNKNOWN: 1, OK: 2, PARTIAL: 3, ERROR: 4, ACTION: 5}
ALL_PLATFORMS = list(Connection.Platform.values)


def light_label(level: str) -> str:
    return {
        OFF: _("Switched off"),
        UNKNOWN: _("Not started yet"),
        OK: _("Working"),
        PARTIAL: _("Mostly working"),
        ERROR: _("Not working right now"),
        ACTION: _("Needs your action"),
    }[level]


def object_label(object_type: str) -> str:
    labels = {
        "order": _("Orders"),
        "customer": _("Customers"),
        "product": _("Products"),
        "article": _("Products"),
        "stock": _("Stock"),
        "price": _("Prices"),
        "price_list": _("Price lists"),
        "order_status": _("Order status"),
        "payout": _("Payouts"),
    }
    return labels.get(object_type, object_type.replace("_", " ").capitalize())


@dataclass
class ConnectionHealth:
    name: str
    system: str
    kind: str
    level: str
    last_success_at: datetime.datetime | None
    last_error_at: datetime.datetime | None
    problem: PlainError | None = None

    @property
    def label(self) -> str:
        return light_label(self.level)


@dataclass
class IntegrationHealth:
    name: str
    flow: str
    level: str
    last_success_at: datetime.datetime | None = None
    last_error_at: datetime.datetime | None = None
    problem: PlainError | None = None
    connections: list[ConnectionHealth] = field(default_factory=list)

    @property
    def label(self) -> str:
        return light_label(self.level)


@dataclass(frozen=True)
class RecentJob:
    integration: str
    kind: str
    finished_at: datetime.datetime | None
    transferred: int
    failed: int
    level: str
    outcome: str


@dataclass
class Transfers:
    columns: list[tuple[str, str]]
    days: list[tuple[datetime.date, list[int]]]
    totals: list[int]
    recent: list[RecentJob]

    @property
    def any(self) -> bool:
        return any(self.totals)


@dataclass
class StatusReport:
    customer: Customer
    generated_at: datetime.datetime
    integrations: list[IntegrationHealth]
    other_connections: list[ConnectionHealth]
    transfers: Transfers
    quota: billing_quota.QuotaUsage
    payouts: status_money.PayoutSummary
    hours: status_money.HourSummary
    package: status_money.PackageSummary | None

    @property
    def overall(self) -> str:
        levels = [i.level for i in self.integrations] + [c.level for c in self.other_connections]
        return max(levels, key=_RANK.__getitem__, default=UNKNOWN)

    @property
    def overall_label(self) -> str:
        return light_label(self.overall)

    @property
    def actions(self) -> list[PlainError]:
        """What the merchant can do, once each, for the top of the page."""
        problems: dict[str, PlainError] = {}
        for item in [*self.integrations, *self.other_connections]:
            parts = [item, *getattr(item, "connections", [])]
            for part in parts:
                if part.problem and part.problem.merchant_must_act:
                    problems.setdefault(part.problem.headline, part.problem)
        return list(problems.values())


def status_report(customer: Customer, *, now: datetime.datetime | None = None) -> StatusReport:
    now = now or timezone.now()
    today = timezone.localtime(now, STOCKHOLM).date()
    integrations, others = health(customer, now=now)
    payout_days = status_money.payouts_per_day(customer, today=today)
    return StatusReport(
        customer=customer,
        generated_at=now,
        integrations=integrations,
        other_connections=others,
        transfers=transfers(customer, now=now, payouts_per_day=payout_days.counts()),
        quota=billing_quota.month_usage(customer, today),
        payouts=status_money.payout_summary(customer, today=today, per_day=payout_days),
        hours=status_money.hour_summary(customer),
        package=status_money.package_summary(customer, today=today),
    )


# --- Health -------------------------------------------------------------------------------------


def connection_health(connection: Connection) -> ConnectionHealth:
    if not connection.enabled:
        level, problem = OFF, None
    elif connection.health == Connection.Health.OK:
        level, problem = OK, None
    elif connection.health == Connection.Health.UNKNOWN:
        level, problem = UNKNOWN, None
    else:
        problem = plain_errors.for_merchant(
            connection.health_message,
            platform=connection.platform,
            needs_merchant=connection.health == Connection.Health.WARNING,
        )
        level = ACTION if problem.merchant_must_act else ERROR
    return ConnectionHealth(
        name=connection.name,
        system=connection.get_platform_display(),
        kind=connection.get_kind_display(),
        level=level,
        last_success_at=connection.last_success_at,
        last_error_at=connection.last_error_at,
        problem=problem,
    )


def _job_health(
    job: SyncJob, platforms: list[str], erp_platform: str
) -> tuple[str, PlainError | None]:
    if job.status == SyncJob.Status.SUCCEEDED:
        return OK, None
    if job.status == SyncJob.Status.CANCELLED:
        return UNKNOWN, None
    platform = plain_errors.platform_in_message(job.error, platforms) or erp_platform
    problem = plain_errors.for_merchant(job.error, platform=platform)
    if job.status == SyncJob.Status.PARTIAL:
        return PARTIAL, problem if problem.merchant_must_act else None
    return (ACTION if problem.merchant_must_act else ERROR), problem


def health(
    customer: Customer, *, now: datetime.datetime
) -> tuple[list[IntegrationHealth], list[ConnectionHealth]]:
    """Each integration with its connections and a light, and the connections no integration
    uses. Five queries, however many integrations and jobs."""
    # Credentials are never read here, not even into memory.
    visible = Connection.objects.filter(customer=customer).defer("credentials_encrypted")
    connections = {c.pk: c for c in visible.order_by("name")}
    integrations = list(
        Integration.objects.filter(customer=customer)
        .order_by("name")
        .only("pk", "name", "flow", "enabled", "erp_id", "gateway_id")
    )
    shops: dict[int, list[int]] = defaultdict(list)
    for integration_id, connection_id in Integration.shops.through.objects.filter(
        integration__customer=customer
    ).values_list("integration_id", "connection_id"):
        shops[integration_id].append(connection_id)

    since = now - JOB_LOOKBACK
    finished = SyncJob.objects.filter(
        integration__customer=customer, created_at__gte=since, status__in=SyncJob.FINISHED
    )
    # The latest finished job of each kind says how that part of the integration is doing.
    latest = (
        finished.annotate(
            row=Window(
                RowNumber(),
                partition_by=[F("integration_id"), F("kind")],
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(row=1)
        .only("pk", "integration_id", "kind", "status", "error", "finished_at", "created_at")
    )
    latest_by_integration: dict[int, list[SyncJob]] = defaultdict(list)
    for job in latest:
        latest_by_integration[job.integration_id].append(job)
    times = {
        row["integration_id"]: row
        for row in finished.order_by()
        .values("integration_id")
        .annotate(
            last_ok=Max("finished_at", filter=Q(status=SyncJob.Status.SUCCEEDED)),
            last_bad=Max(
                "finished_at", filter=Q(status__in=[SyncJob.Status.FAILED, SyncJob.Status.PARTIAL])
            ),
        )
    }

    used: set[int] = set()
    result = []
    for integration in integrations:
        ids = [integration.erp_id, *shops[integration.pk]]
        if integration.gateway_id:
            ids.append(integration.gateway_id)
        parts = [connection_health(connections[pk]) for pk in ids if pk in connections]
        used.update(ids)
        platforms = [connections[pk].platform for pk in ids if pk in connections]
        erp_platform = connections[integration.erp_id].platform
        item = IntegrationHealth(
            name=integration.name,
            flow=integration.get_flow_display(),
            level=UNKNOWN,
            last_success_at=times.get(integration.pk, {}).get("last_ok"),
            last_error_at=times.get(integration.pk, {}).get("last_bad"),
            connections=parts,
        )
        candidates: list[tuple[str, PlainError | None]] = [(p.level, p.problem) for p in parts]
        candidates += [
            _job_health(job, platforms, erp_platform)
            for job in latest_by_integration[integration.pk]
        ]
        if not integration.enabled:
            item.level = OFF
        elif candidates:
            item.level, item.problem = max(candidates, key=lambda c: _RANK[c[0]])
            if item.level == UNKNOWN and item.last_success_at:
                item.level = OK
        result.append(item)
    others = [connection_health(c) for pk, c in connections.items() if pk not in used]
    return result, others


# --- Transfers ----------------------------------------------------------------------------------


def transfers(
    customer: Customer,
    *,
    now: datetime.datetime,
    payouts_per_day: dict[datetime.date, int],
) -> Transfers:
    """What was transferred per day and kind of object over the last two weeks (Stockholm days),
    with payouts as a column of their own, and the latest finished jobs."""
    today = timezone.localtime(now, STOCKHOLM).date()
    days = [today - datetime.timedelta(days=n) for n in range(TRANSFER_DAYS)]
    # Stockholm midnights, newest first: the first one an item is not older than is its day.
    # Compared in SQL, so no database converts time zones row by row (SQLite would call into
    # Python for every item), and a summer-time change is exact.
    midnights = [
        datetime.datetime.combine(day, datetime.time.min, tzinfo=STOCKHOLM) for day in days
    ]
    day_index = Case(
        *[When(created_at__gte=midnight, then=Value(i)) for i, midnight in enumerate(midnights)],
        output_field=IntegerField(),
    )
    rows = (
        SyncItem.objects.filter(
            job__integration__customer=customer,
            # Narrows the search through the job index first: an item is never older than its
            # job, and no job runs for days.
            job__created_at__gte=midnights[-1] - datetime.timedelta(days=7),
            created_at__gte=midnights[-1],
            outcome=SyncItem.Outcome.TRANSFERRED,
        )
        .annotate(day=day_index)
        .order_by()
        .values_list("day", "object_type")
        .annotate(n=Count("pk"))
    )
    counts: dict[tuple[datetime.date, str], int] = {}
    for index, object_type, n in rows:
        counts[(days[index], object_type)] = counts.get((days[index], object_type), 0) + n
    for day, n in payouts_per_day.items():
        if day >= days[-1]:
            counts[(day, "payout")] = n
    order = ["order", "customer", "product", "article", "stock", "price", "price_list", "payout"]
    seen = {object_type for _day, object_type in counts}
    keys = [k for k in order if k in seen] + sorted(seen - set(order))
    table = [(day, [counts.get((day, key), 0) for key in keys]) for day in days]
    totals = [sum(row[1][i] for row in table) for i in range(len(keys))]
    return Transfers(
        columns=[(key, object_label(key)) for key in keys],
        days=table,
        totals=totals,
        recent=recent_jobs(customer),
    )


def recent_jobs(customer: Customer) -> list[RecentJob]:
    jobs = (
        SyncJob.objects.filter(integration__customer=customer, status__in=SyncJob.FINISHED)
        .select_related("integration__erp")
        .only(
            "kind",
            "status",
            "error",
            "finished_at",
            "transferred",
            "failed",
            "integration__name",
            "integration__erp__platform",
        )
        .order_by("-created_at", "-pk")[:RECENT_JOBS]
    )
    result = []
    for job in jobs:
        if job.status == SyncJob.Status.SUCCEEDED:
            level, outcome = OK, _("Done")
        elif job.status == SyncJob.Status.CANCELLED:
            level, outcome = UNKNOWN, _("Stopped")
        elif job.status == SyncJob.Status.PARTIAL:
            level = PARTIAL
            outcome = _("Done, except %(n)d we are looking at") % {"n": job.failed}
        else:
            platform = plain_errors.platform_in_message(job.error, ALL_PLATFORMS)
            problem = plain_errors.for_merchant(
                job.error, platform=platform or job.integration.erp.platform
            )
            level = ACTION if problem.merchant_must_act else ERROR
            outcome = problem.headline
        result.append(
            RecentJob(
                integration=job.integration.name,
                kind=job.get_kind_display(),
                finished_at=job.finished_at,
                transferred=job.transferred,
                failed=job.failed,
                level=level,
                outcome=outcome,
            )
        )
    return result
