"""The service account: start-package hours and bought hour packages are credits, time entries
are debits. The balance is derived from those rows every time it is asked for."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from billing.models import Customer, HourPurchase, Subscription, TimeEntry

ZERO = Decimal("0.00")


def _sum_for_customer(queryset: Any, field: str) -> Coalesce:
    total = (
        queryset.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(total=Sum(field))
        .values("total")[:1]
    )
    hours = DecimalField(max_digits=12, decimal_places=2)
    return Coalesce(Subquery(total, output_field=hours), Value(ZERO), output_field=hours)


def balance_annotations() -> dict[str, Coalesce]:
    """Credits and debits as annotations on a Customer queryset: one query for any number of
    customers (the changelist uses them too). Only the first period of a contract carries the
    start-package hours; a package change does not add more."""
    return {
        "start_hours": _sum_for_customer(
            Subscription.objects.filter(replaces__isnull=True), "start_package_hours"
        ),
        "bought_hours": _sum_for_customer(HourPurchase.objects.all(), "hours"),
        "worked_hours": _sum_for_customer(TimeEntry.objects.all(), "hours"),
    }


def balance_of(annotated: Any) -> Decimal:
    """The balance of a customer (or a values() row) annotated with balance_annotations()."""
    get = annotated.get if isinstance(annotated, dict) else lambda name: getattr(annotated, name)
    return get("start_hours") + get("bought_hours") - get("worked_hours")


def balance(customer: Customer) -> Decimal:
    """Hours left on the customer's service account; negative when overdrawn."""
    row = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(**balance_annotations())
        .values("start_hours", "bought_hours", "worked_hours")
        .get()
    )
    return balance_of(row)


def balance_after(
    customer: Customer, *, debit: Decimal, replacing: TimeEntry | None = None
) -> Decimal:
    """The balance if `debit` hours were drawn, `replacing` an entry already stored (an edit)."""
    stored = ZERO
    if replacing is not None and replacing.pk:
        stored = TimeEntry.objects.filter(pk=replacing.pk).values_list("hours", flat=True).first()
    return balance(customer) + (stored or ZERO) - debit


@dataclass(frozen=True)
class AccountEntry:
    """One line of the account as the status page and the admin show it: + credit, − debit."""

    date: datetime.date
    hours: Decimal
    text: str
    category: str
    by: str
    below_zero_reason: str = ""


def latest_entries(customer: Customer, limit: int = 5) -> list[AccountEntry]:
    """The newest credits and debits, newest first (time entries and hour purchases mixed)."""
    worked = [
        AccountEntry(
            date=entry.date,
            hours=-entry.hours,
            text=entry.description,
            category=entry.get_category_display(),
            by=entry.staff.get_full_name() or entry.staff.get_username(),
            below_zero_reason=entry.below_zero_reason,
        )
        for entry in TimeEntry.objects.filter(customer=customer)
        .select_related("staff")
        .order_by("-date", "-pk")[:limit]
    ]
    bought = [
        AccountEntry(
            date=purchase.date,
            hours=purchase.hours,
            text=purchase.note or _("Hour package"),
            category=_("Hour package"),
            by="",
        )
        for purchase in HourPurchase.objects.filter(customer=customer).order_by("-date", "-pk")[
            :limit
        ]
    ]
    started = [
        AccountEntry(
            date=subscription.start_date,
            hours=subscription.start_package_hours,
            text=_("Start package"),
            category=_("Start package"),
            by="",
        )
        for subscription in Subscription.objects.filter(
            customer=customer, replaces__isnull=True
        ).order_by("-start_date")[:limit]
    ]
    newest_first = sorted(worked + bought + started, key=lambda entry: entry.date, reverse=True)
    return newest_first[:limit]
