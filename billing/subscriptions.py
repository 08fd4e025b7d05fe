"""Package changes: the one way a running subscription changes its package.

An upgrade takes effect on the day of the change (billed pro rata from that day), a downgrade
on the 1st of next month. Either way the running row is ended and a new row starts, so every
past day keeps the package it was on, and a SubscriptionChange row says who did it and when.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import (
    Customer,
    Package,
    Subscription,
    SubscriptionChange,
    add_months,
    first_of_month,
    last_of_month,
)

ONE_DAY = datetime.timedelta(days=1)


def running_on(customer: Customer, day: datetime.date) -> Subscription | None:
    return customer.current_subscription(on=day)


def in_month(customer: Customer, month: datetime.date) -> list[Subscription]:
    """The customer's subscriptions that cover at least one day of the month, oldest first."""
    first, last = first_of_month(month), last_of_month(month)
    return list(
        customer.subscriptions.filter(start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=first))
        .select_related("package")
        .order_by("start_date")
    )


def scheduled_change(customer: Customer, today: datetime.date | None = None) -> Subscription | None:
    """A package change that is decided but has not taken effect yet (a downgrade)."""
    today = today or timezone.localdate()
    return (
        customer.subscriptions.filter(start_date__gt=today, replaces__isnull=False)
        .select_related("package")
        .order_by("start_date")
        .first()
    )


def is_upgrade(current: Subscription, package: Package, monthly_fee: Decimal | None) -> bool:
    """Dearer is an upgrade; at the same fee, a larger package is."""
    new_fee = monthly_fee if package.is_quoted else package.monthly_fee
    return (new_fee or Decimal(0), package.rank) > (
        current.monthly_fee or Decimal(0),
        current.package.rank,
    )


def change_package(
    *,
    customer: Customer,
    package: Package,
    user: Any,
    today: datetime.date | None = None,
    quoted_monthly_fee: Decimal | None = None,
    quoted_installation_fee: Decimal | None = None,
    quoted_order_quota: int | None = None,
    note: str = "",
) -> SubscriptionChange:
    """Move the customer to `package`. Raises ValidationError when that cannot be done."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # Two account managers saving at once must not both end the same running row.
        list(Subscription.objects.select_for_update().filter(customer=customer).values("pk"))
        current = running_on(customer, today)
        if current is None:
            raise ValidationError(
                _("%(customer)s has no running subscription.") % {"customer": customer}
            )
        note = _drop_scheduled_change(customer, current, today, note)
        if package == current.package and not package.is_quoted:
            raise ValidationError(
                _("The customer is already on %(package)s.") % {"package": package}
            )
        upgrade = is_upgrade(current, package, quoted_monthly_fee)
        effective = today if upgrade else add_months(first_of_month(today), 1)
        if current.end_date and current.end_date < effective:
            raise ValidationError(
                _("The contract ends on %(end)s, before the change would take effect.")
                % {"end": current.end_date}
            )
        changed_from = current.package
        if current.start_date >= effective:
            # Changed on the first day of the period: nothing was billed on the old package.
            subscription = current
            subscription.package = package
        else:
            subscription = Subscription(
                customer=customer,
                package=package,
                start_date=effective,
                contract_start=current.term_start,
                replaces=current,
                minimum_term_months=current.minimum_term_months,
                notice_months=current.notice_months,
                notice_given_on=current.notice_given_on,
                end_date=current.end_date,
                extra_shops=current.extra_shops if package.multishop else 0,
                start_package_hours=Decimal(0),
            )
            current.end_date = effective - ONE_DAY
            current.save(update_fields=["end_date"])
        if package.is_quoted:
            subscription.quoted_monthly_fee = quoted_monthly_fee
            subscription.quoted_installation_fee = quoted_installation_fee
            subscription.quoted_order_quota = quoted_order_quota
        else:
            subscription.quoted_monthly_fee = None
            subscription.quoted_installation_fee = None
            subscription.quoted_order_quota = None
        subscription.full_clean()
        subscription.save()
        return SubscriptionChange.objects.create(
            customer=customer,
            subscription=subscription,
            kind=SubscriptionChange.Kind.UPGRADE if upgrade else SubscriptionChange.Kind.DOWNGRADE,
            from_package=changed_from,
            to_package=package,
            effective_from=effective,
            changed_by=user if getattr(user, "pk", None) else None,
            note=note,
        )


def _drop_scheduled_change(
    customer: Customer, current: Subscription, today: datetime.date, note: str
) -> str:
    """A new decision replaces a downgrade that has not taken effect: the running row gets its
    old end back. The scheduled change's audit row stays; the new one says what it replaced."""
    scheduled = scheduled_change(customer, today)
    if scheduled is None or scheduled.replaces_id != current.pk:
        return note
    current.end_date = scheduled.end_date
    current.notice_given_on = scheduled.notice_given_on
    scheduled.delete()
    current.save(update_fields=["end_date", "notice_given_on"])
    replaced = _("Replaces the change to %(package)s scheduled from %(day)s.") % {
        "package": scheduled.package,
        "day": scheduled.start_date,
    }
    return f"{note}\n{replaced}".strip()


def give_notice(*, subscription: Subscription, on: datetime.date | None = None) -> Subscription:
    """Record notice given on `on` (default today): the contract ends on the earliest end."""
    on = on or timezone.localdate()
    subscription.notice_given_on = on
    subscription.end_date = subscription.earliest_end_date(on)
    subscription.full_clean()
    subscription.save(update_fields=["notice_given_on", "end_date"])
    return subscription
