"""The order quota: every order transferred to the ERP counts once against the customer's
package quota for the (Stockholm) month; warnings go out at 80 % and 100 %, once each."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format

from billing.models import (
    Customer,
    QuotaMonth,
    QuotaWarning,
    Subscription,
    TransferredOrder,
    first_of_month,
    last_of_month,
)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
LEVELS = (QuotaWarning.Level.NEARLY, QuotaWarning.Level.REACHED)


@dataclass(frozen=True)
class QuotaUsage:
    month: datetime.date
    used: int
    quota: int | None
    percent: int | None
    overage: int
    per_day: list[tuple[datetime.date, int]]


def quota_for(subscriptions: Iterable[Subscription], month: datetime.date) -> Subscription | None:
    """The subscription whose quota a month is measured against: the one running on the month's
    last day (or today, in the running month), else the last one that ran in the month. An
    upgrade in the month raises that month's quota; a downgrade waits for the next month."""
    first, last = first_of_month(month), last_of_month(month)
    day = min(last, max(first, timezone.localdate()))
    covering = [s for s in subscriptions if s.days_in(first, last)]
    for subscription in sorted(covering, key=lambda s: s.start_date, reverse=True):
        if subscription.start_date <= day and (
            not subscription.end_date or subscription.end_date >= day
        ):
            return subscription
    return max(covering, key=lambda s: s.start_date, default=None)


def month_usage(customer: Customer, month: datetime.date) -> QuotaUsage:
    """Orders transferred in the month against the quota, with a count for every day of the
    month up to today (every day, for a month that is over)."""
    first, last = first_of_month(month), last_of_month(month)
    counts = dict(
        TransferredOrder.objects.filter(customer=customer, transferred_on__range=(first, last))
        .order_by()
        .values_list("transferred_on")
        .annotate(n=Count("pk"))
    )
    used = sum(counts.values())
    subscription = quota_for(customer.subscriptions.select_related("package"), month)
    quota = subscription.order_quota if subscription else None
    until = min(last, timezone.localdate())
    days = [first + datetime.timedelta(days=n) for n in range((until - first).days + 1)]
    return QuotaUsage(
        month=first,
        used=used,
        quota=quota,
        percent=used * 100 // quota if quota else None,
        overage=max(0, used - quota) if quota is not None else 0,
        per_day=[(day, counts.get(day, 0)) for day in days],
    )


def record_transferred_order(
    *, customer: Customer, reference: str, transferred_at: datetime.datetime
) -> None:
    """Count one order transferred to the ERP. Called by the sync engine once per order; a retry
    with the same reference counts nothing. A constant number of queries per call."""
    day = timezone.localtime(transferred_at, STOCKHOLM).date()
    month = first_of_month(day)
    with transaction.atomic():
        # The month row is locked first, by every worker: the count below cannot race, so the
        # order that crosses 80 % or 100 % is exactly one order.
        counter, _created = QuotaMonth.objects.select_for_update().get_or_create(
            customer=customer, month=month
        )
        if TransferredOrder.objects.filter(customer=customer, reference=reference).exists():
            return
        used = counter.used + 1
        subscription = customer.current_subscription(on=day)
        quota = subscription.order_quota if subscription else None
        TransferredOrder.objects.create(
            customer=customer,
            reference=reference,
            transferred_at=transferred_at,
            transferred_on=day,
            over_quota=quota is not None and used > quota,
        )
        QuotaMonth.objects.filter(pk=counter.pk).update(used=F("used") + 1)
        if quota:
            _warn_when_due(customer, month, used, quota)


def _warn_when_due(customer: Customer, month: datetime.date, used: int, quota: int) -> None:
    due = [level for level in LEVELS if used * 100 >= level * quota]
    if not due or _levels_warned(customer, month) >= set(due):
        return
    created = []
    for level in due:
        # The unique row is the guarantee: whoever inserts it first sends that warning.
        warning, new = QuotaWarning.objects.get_or_create(
            customer=customer,
            month=month,
            level=level,
            defaults={"used": used, "quota": quota},
        )
        if new:
            created.append(warning)
    if created:
        # One e-mail, for the highest level that became due (a tiny quota can pass both at once).
        highest = max(created, key=lambda warning: warning.level)
        # robust: a mail server that is down must not fail the sync job that counted the order.
        transaction.on_commit(partial(send_warning, highest.pk), robust=True)


def _levels_warned(customer: Customer, month: datetime.date) -> set[int]:
    return set(
        QuotaWarning.objects.filter(customer=customer, month=month).values_list("level", flat=True)
    )


def send_warning(warning_pk: int) -> None:
    warning = QuotaWarning.objects.select_related("customer__account_manager").get(pk=warning_pk)
    customer = warning.customer
    recipients = [customer.contact_email] if customer.contact_email else []
    manager = customer.account_manager
    if manager is not None and manager.email and manager.email not in recipients:
        recipients.append(manager.email)
    if not recipients:
        return
    # Our customers are Swedish merchants: the mail is in the site's language, not the worker's.
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "customer": customer,
            "warning": warning,
            "month_name": date_format(warning.month, "F Y"),
            "subscription": quota_for(
                customer.subscriptions.select_related("package"), warning.month
            ),
        }
        subject = render_to_string("billing/email/quota_warning_subject.txt", context)
        body = render_to_string("billing/email/quota_warning_body.txt", context)
    send_mail(" ".join(subject.split()), body, None, recipients)
    QuotaWarning.objects.filter(pk=warning.pk).update(recipients=", ".join(recipients))
