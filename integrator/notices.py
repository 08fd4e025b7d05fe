"""E-mails we send on our own initiative.

- `send_error_digest` (scheduled daily at 07:00 by migration 0004): what failed in the last 24
  hours, per connector and object, with how many times and the likely fix, to SUPPORT_EMAIL.
- `notify_connection_needs_merchant(connection)`: the merchant is told once per incident that a
  connection needs them (an expired authorisation); not again until the connection has worked
  in between.

Quota warnings are billing's (billing/quota.py, to the merchant and the account manager); the
digest does not repeat them. Every notice leaves a `Notice` row whose unique (kind, key) makes it
go out at most once, however many workers try.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from integrator import plain_errors
from integrator.models import MerchantAccess, Notice, SyncItem, SyncJob
from integrator.status import object_label, site_url
from shops.models import Connection
from shops.redaction import redact_text

logger = logging.getLogger(__name__)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
DIGEST_PERIOD = datetime.timedelta(hours=24)
EXAMPLES = 3
SAMPLE_CHARS = 300
ALL_PLATFORMS = list(Connection.Platform.values)
KIND_LABELS = dict(SyncJob.Kind.choices)


# --- The daily error digest ---------------------------------------------------------------------


@dataclass
class DigestGroup:
    platform: str
    what: str
    cause: str
    count: int = 0
    customers: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)
    sample: str = ""

    @property
    def system(self) -> str:
        return plain_errors.platform_label(self.platform)

    @property
    def fix(self) -> str:
        return plain_errors.fix_for_support(self.cause, platform=self.platform)

    @property
    def customer_names(self) -> list[str]:
        return sorted(self.customers)


def _platform(message: str, kind: str, erp: str | None, gateway: str | None) -> str:
    named = plain_errors.platform_in_message(message, ALL_PLATFORMS)
    if named:
        return named
    if kind == SyncJob.Kind.PAYOUTS and gateway:
        return gateway
    return erp or "unknown"


def error_digest(*, since: datetime.datetime, until: datetime.datetime) -> list[DigestGroup]:
    """Failed items and failed jobs in [since, until), grouped per connector, object and cause."""
    groups: dict[tuple[str, str, str], DigestGroup] = {}

    def add(platform: str, what: str, message: str, customer: str, example: str) -> None:
        cause = plain_errors.diagnose(message)
        group = groups.setdefault((platform, what, cause), DigestGroup(platform, what, cause))
        group.count += 1
        group.customers.add(customer)
        if len(group.examples) < EXAMPLES:
            group.examples.append(example)
        if not group.sample:
            group.sample = redact_text(" ".join(message.split()))[:SAMPLE_CHARS]

    items = SyncItem.objects.filter(
        outcome=SyncItem.Outcome.FAILED, created_at__gte=since, created_at__lt=until
    ).values_list(
        "object_type",
        "key",
        "message",
        "job__kind",
        "job__integration__customer__name",
        "job__integration__erp__platform",
        "job__integration__gateway__platform",
    )
    for object_type, key, message, kind, customer, erp, gateway in items.iterator():
        what = object_label(object_type)
        add(_platform(message, kind, erp, gateway), what, message, customer, f"{customer}: {key}")

    jobs = SyncJob.objects.filter(
        status=SyncJob.Status.FAILED, finished_at__gte=since, finished_at__lt=until
    ).values_list(
        "pk",
        "kind",
        "error",
        "integration__customer__name",
        "integration__erp__platform",
        "integration__gateway__platform",
    )
    for pk, kind, error, customer, erp, gateway in jobs.iterator():
        what = _("%(kind)s job") % {"kind": KIND_LABELS.get(kind, kind)}
        add(_platform(error, kind, erp, gateway), what, error, customer, f"{customer}: #{pk}")

    return sorted(groups.values(), key=lambda g: (g.system, -g.count, g.what))


def send_error_digest(*, now: datetime.datetime | None = None, force: bool = False) -> int:
    """Mail the last 24 hours' failures to support; returns how many failures it reported.
    Nothing is sent when nothing failed, and at most one digest goes out per (Stockholm) day
    unless `force`. The django-q2 schedule calls it without arguments."""
    now = now or timezone.now()
    since = now - DIGEST_PERIOD
    recipient = getattr(settings, "SUPPORT_EMAIL", "")
    with translation.override(settings.LANGUAGE_CODE), timezone.override(STOCKHOLM):
        groups = error_digest(since=since, until=now)
        if not groups or not recipient:
            return 0
        subject, body = render_error_digest(groups, since=since, until=now)
    day = timezone.localtime(now, STOCKHOLM).date().isoformat()
    with transaction.atomic():
        # A failing mail server rolls the row back, so the next run tries again.
        notice, created = Notice.objects.select_for_update().get_or_create(
            kind=Notice.Kind.ERROR_DIGEST, key=day
        )
        if not created and notice.sent_at and not force:
            return 0
        send_mail(subject, body, None, [recipient])
        notice.subject, notice.recipients, notice.sent_at = subject[:300], recipient, now
        notice.save(update_fields=["subject", "recipients", "sent_at"])
    return sum(group.count for group in groups)


def render_error_digest(
    groups: list[DigestGroup], *, since: datetime.datetime, until: datetime.datetime
) -> tuple[str, str]:
    by_platform: dict[str, list[DigestGroup]] = defaultdict(list)
    for group in groups:
        by_platform[group.system].append(group)
    context = {
        "by_platform": sorted(by_platform.items()),
        "total": sum(group.count for group in groups),
        "since": date_format(timezone.localtime(since), "j F Y H:i"),
        "until": date_format(timezone.localtime(until), "j F Y H:i"),
        "jobs_url": site_url()
        + reverse("admin:integrator_syncjob_changelist")
        + "?status__exact=failed",
    }
    subject = render_to_string("status/email/error_digest_subject.txt", context)
    body = render_to_string("status/email/error_digest_body.txt", context)
    return " ".join(subject.split()), body


# --- The merchant must act ----------------------------------------------------------------------


def notify_connection_needs_merchant(connection: Connection) -> bool:
    """Tell the merchant that `connection` needs them (e.g. its authorisation expired), once per
    incident: an incident lasts until the connection works again, so the key is the last time
    it worked. Returns whether a notice was made now; the mail goes out after the commit, and a
    mail server that is down does not fail the caller (the job runner)."""
    fresh = Connection.objects.only("pk", "customer_id", "last_success_at").get(pk=connection.pk)
    healthy_since = fresh.last_success_at.isoformat() if fresh.last_success_at else "never"
    notice, created = Notice.objects.get_or_create(
        kind=Notice.Kind.NEEDS_MERCHANT,
        key=f"{fresh.pk}:{healthy_since}"[:100],
        defaults={"customer_id": fresh.customer_id, "connection_id": fresh.pk},
    )
    if created:

        def send() -> None:
            send_needs_merchant(notice.pk)

        transaction.on_commit(send, robust=True)
    return created


def merchant_recipients(connection: Connection) -> list[str]:
    customer = connection.customer
    recipients = [customer.contact_email] if customer.contact_email else []
    logins = MerchantAccess.objects.filter(customer=customer, user__is_active=True).exclude(
        user__email=""
    )
    for email in logins.values_list("user__email", flat=True):
        if email and email.lower() not in {r.lower() for r in recipients}:
            recipients.append(email)
    return recipients


def send_needs_merchant(notice_pk: int) -> None:
    notice = Notice.objects.select_related("connection__customer").get(pk=notice_pk)
    connection = notice.connection
    if connection is None:
        return
    recipients = merchant_recipients(connection)
    if not recipients:
        logger.warning("Connection %s needs its merchant, who has no e-mail address", connection.pk)
        return
    # Our merchants are Swedish: the mail is in the site's language, not the worker's.
    with translation.override(settings.LANGUAGE_CODE):
        problem = plain_errors.for_merchant(
            connection.health_message, platform=connection.platform, needs_merchant=True
        )
        context = {
            "customer": connection.customer,
            "system": connection.get_platform_display(),
            "problem": problem,
            "login_url": site_url() + reverse("status-login"),
            "support_email": getattr(settings, "SUPPORT_EMAIL", ""),
        }
        subject = " ".join(
            render_to_string("status/email/needs_merchant_subject.txt", context).split()
        )
        body = render_to_string("status/email/needs_merchant_body.txt", context)
    send_mail(subject, body, None, recipients)
    Notice.objects.filter(pk=notice.pk).update(
        subject=subject[:300], recipients=", ".join(recipients)[:500], sent_at=timezone.now()
    )
