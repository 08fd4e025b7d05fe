"""Selectors for the money parts of the status page: payouts and their reconciliation, service
hours, the package and what an upgrade would add. A fixed number of queries each."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from billing import service_account
from billing.models import Customer, Package, add_months
from billing.service_account import AccountEntry
from ledger.models import Payout, PayoutLine

ZERO = Decimal("0.00")
RECENT_PAYOUT_DAYS = 30
LATEST_PAYOUTS = 5
CHART_MONTHS = 12
HOUR_ENTRIES = 5

RECONCILED = (Payout.Status.MATCHED, Payout.Status.BOOKED)
WAITING = (Payout.Status.IMPORTED, Payout.Status.REVIEW, Payout.Status.REFUSED)


def payout_words(status: str) -> tuple[str, str]:
    """(light, words) for a payout's status, as the merchant reads it."""
    words = {
        Payout.Status.IMPORTED: ("partial", _("Received, being reconciled")),
        Payout.Status.MATCHED: ("ok", _("Reconciled")),
        Payout.Status.BOOKED: ("ok", _("Reconciled and booked")),
        Payout.Status.REVIEW: ("partial", _("Some lines wait for review")),
        Payout.Status.DISCREPANCY: ("error", _("Discrepancy: we are looking at it")),
        Payout.Status.REFUSED: ("error", _("Booking stopped: we are looking at it")),
    }
    return words.get(status, ("unknown", status))


@dataclass(frozen=True)
class PayoutRow:
    date: datetime.date
    gateway: str
    reference: str
    currency: str
    net: Decimal
    level: str
    words: str


@dataclass(frozen=True)
class MonthTotal:
    month: datetime.date
    net: Decimal
    count: int


@dataclass(frozen=True)
class CurrencyMonths:
    """Net paid out per month in one currency: a chart of its own, never added to another."""

    currency: str
    payouts: int  # over the chart's months
    months: list[MonthTotal]


@dataclass
class PayoutDays:
    """Payouts per day and currency over the chart's months: one query serves the per-day
    transfer counts and the monthly chart."""

    first: datetime.date
    rows: list[tuple[datetime.date, str, int, Decimal]] = field(default_factory=list)

    def counts(self) -> dict[datetime.date, int]:
        per_day: dict[datetime.date, int] = defaultdict(int)
        for day, _currency, n, _net in self.rows:
            per_day[day] += n
        return dict(per_day)


@dataclass
class PayoutSummary:
    recent: int
    reconciled: int
    waiting: int
    discrepancies: int
    unmatched_lines: int
    latest: list[PayoutRow]
    by_currency: list[CurrencyMonths]  # the currency with most payouts first

    @property
    def any(self) -> bool:
        return bool(self.latest)


def payouts_per_day(customer: Customer, *, today: datetime.date) -> PayoutDays:
    first = add_months(today.replace(day=1), -(CHART_MONTHS - 1))
    rows = (
        Payout.objects.filter(connection__customer=customer, payout_date__gte=first)
        .order_by()
        .values_list("payout_date", "currency")
        .annotate(n=Count("pk"), net=Sum("net"))
    )
    return PayoutDays(first=first, rows=[(d, c, n, net or ZERO) for d, c, n, net in rows])


def payout_summary(
    customer: Customer, *, today: datetime.date, per_day: PayoutDays
) -> PayoutSummary:
    payouts = Payout.objects.filter(connection__customer=customer)
    since = today - datetime.timedelta(days=RECENT_PAYOUT_DAYS - 1)
    counts = payouts.aggregate(
        recent=Count("pk", filter=Q(payout_date__gte=since)),
        reconciled=Count("pk", filter=Q(payout_date__gte=since, status__in=RECONCILED)),
        waiting=Count("pk", filter=Q(status__in=WAITING)),
        discrepancies=Count("pk", filter=Q(status=Payout.Status.DISCREPANCY)),
    )
    unmatched = (
        PayoutLine.objects.filter(
            payout__connection__customer=customer, match=PayoutLine.Match.UNMATCHED
        )
        .exclude(payout__status=Payout.Status.BOOKED)
        .count()
    )
    latest = []
    for payout in payouts.select_related("connection").order_by("-payout_date", "-pk")[
        :LATEST_PAYOUTS
    ]:
        level, words = payout_words(payout.status)
        latest.append(
            PayoutRow(
                date=payout.payout_date,
                gateway=payout.connection.get_platform_display(),
                reference=payout.reference,
                currency=payout.currency,
                net=payout.net,
                level=level,
                words=words,
            )
        )
    return PayoutSummary(
        recent=counts["recent"],
        reconciled=counts["reconciled"],
        waiting=counts["waiting"],
        discrepancies=counts["discrepancies"],
        unmatched_lines=unmatched,
        latest=latest,
        by_currency=months_by_currency(per_day),
    )


def months_by_currency(per_day: PayoutDays) -> list[CurrencyMonths]:
    """Net and count per month of each currency, the one with most payouts first."""
    totals: dict[str, dict[datetime.date, tuple[Decimal, int]]] = defaultdict(
        lambda: defaultdict(lambda: (ZERO, 0))
    )
    for day, currency, n, net in per_day.rows:
        sum_net, count = totals[currency][day.replace(day=1)]
        totals[currency][day.replace(day=1)] = (sum_net + net, count + n)
    months = [add_months(per_day.first, n) for n in range(CHART_MONTHS)]
    found = [
        CurrencyMonths(
            currency=currency,
            payouts=sum(n for _net, n in per_month.values()),
            months=[MonthTotal(m, *per_month.get(m, (ZERO, 0))) for m in months],
        )
        for currency, per_month in totals.items()
    ]
    return sorted(found, key=lambda c: (-c.payouts, c.currency))


# --- Service hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourSummary:
    balance: Decimal
    entries: list[AccountEntry]

    @property
    def overdrawn(self) -> bool:
        return self.balance < 0


def hour_summary(customer: Customer) -> HourSummary:
    return HourSummary(
        balance=service_account.balance(customer),
        entries=service_account.latest_entries(customer, limit=HOUR_ENTRIES),
    )


# --- Package ------------------------------------------------------------------------------------

FEATURES = ("order_status", "stock", "price_lists", "plugins", "multishop", "key_account_manager")


def feature_label(name: str) -> str:
    return str(Package._meta.get_field(name).verbose_name).capitalize()


@dataclass(frozen=True)
class Upgrade:
    name: str
    adds: list[str]
    order_quota: int | None
    monthly_fee: Decimal | None


@dataclass(frozen=True)
class PackageSummary:
    name: str
    order_quota: int | None
    monthly_fee: Decimal | None
    extra_shops: int
    included: list[str]
    not_included: list[str]
    upgrade: Upgrade | None


def package_summary(customer: Customer, *, today: datetime.date) -> PackageSummary | None:
    subscription = customer.current_subscription(on=today)
    if subscription is None:
        return None
    package = subscription.package
    basics = _("Order, customer and product information")
    included = [basics] + [feature_label(f) for f in FEATURES if package.allows(f)]
    not_included = [feature_label(f) for f in FEATURES if not package.allows(f)]
    bigger = Package.objects.filter(rank__gt=package.rank).order_by("rank").first()
    upgrade = None
    if bigger is not None:
        adds = [feature_label(f) for f in FEATURES if bigger.allows(f) and not package.allows(f)]
        quota = subscription.order_quota
        if bigger.order_quota and (quota is None or bigger.order_quota > quota):
            adds.insert(
                0,
                _("%(new)d transferred orders a month instead of %(old)d")
                % {"new": bigger.order_quota, "old": quota or 0},
            )
        elif bigger.is_quoted:
            adds.insert(0, _("An order quota agreed with you"))
        upgrade = Upgrade(
            name=bigger.name,
            adds=adds,
            order_quota=bigger.order_quota,
            monthly_fee=bigger.monthly_fee,
        )
    return PackageSummary(
        name=package.name,
        order_quota=subscription.order_quota,
        monthly_fee=subscription.monthly_fee,
        extra_shops=subscription.extra_shops,
        included=included,
        not_included=not_included,
        upgrade=upgrade,
    )
