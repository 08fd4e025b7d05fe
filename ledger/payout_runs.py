"""The "payouts" job of a gateway integration: fetch what the gateway paid out, import it, match
it, book it locally and write it to Visma eEkonomi. One job is one record support staff can read
(SyncItems per payout, order, payment and voucher) and retry from the job admin; every step is
idempotent, so a retry does only what is left.

Registered in integrator/flows FLOWS (kind "payouts"); the schedule queues one per enabled
gateway integration (ledger.tasks.enqueue_payout_fetches).

Which days a scheduled fetch asks for: from a week before the last day a fetch succeeded up to
(a payout listed as in transit is paid some days later), so a schedule that stopped for a while
catches up instead of leaving a gap. The first fetch starts at the integration's option
`payouts_since` (an ISO date: the day the merchant wants booking to begin, often the start of a
period) or, without it, two weeks back.
"""

from __future__ import annotations

import datetime
import logging
from functools import partial

from django.utils import timezone
from django.utils.translation import gettext as _

from integrator import services as engine
from integrator.models import Cursor, SyncItem, SyncJob
from ledger import services
from ledger.fetch import DEFAULT_WINDOW, PLATFORMS, fetch_payouts
from ledger.importing import ImportRejected
from ledger.models import Payout
from ledger.posting import post_payout, unposted
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for

logger = logging.getLogger(__name__)
# What waits for a person is skipped (and said why); what breaks a rule of the product fails.
WAITING = ("review", "discrepancy")
FETCHED_UNTIL = "payouts_fetched"  # the Cursor entity: the last day a fetch succeeded up to
OVERLAP = datetime.timedelta(days=7)


def book_payouts_job(job: SyncJob) -> None:
    integration = job.integration
    gateway = integration.gateway
    record = partial(engine.item_record, job)
    if gateway is None:
        return
    if job.options.get("fetch", True) and gateway.platform in PLATFORMS:
        _fetch(job, gateway)
    for payout in (
        Payout.objects.filter(connection=gateway)
        .exclude(status=Payout.Status.BOOKED)
        .order_by("payout_date", "pk")
    ):
        try:
            if payout.status == Payout.Status.REVIEW:
                # What a line waited for (a sale in a payout imported since) may be there now.
                services.payout_match(payout=payout)
            services.payout_book(payout=payout)
        except services.BookingRefused as exc:
            record(
                object_type="payout",
                key=payout.reference[:100],
                outcome=SyncItem.Outcome.SKIPPED
                if exc.kind in WAITING
                else SyncItem.Outcome.FAILED,
                message=exc.reason,
            )
    payouts = list(unposted(gateway))
    if not payouts:
        return
    erp = client_for(integration.erp)
    for payout in payouts:
        post_payout(payout=payout, erp=erp, record=record)
        engine.job_progress(job)
    if not job.failed:
        integration.erp.record_success()


def _fetch(job: SyncJob, gateway) -> None:
    # A person may fetch a window of their choice (job options "since"/"until", ISO dates).
    window = {
        name: datetime.date.fromisoformat(job.options[name])
        for name in ("since", "until")
        if job.options.get(name)
    }
    cursor, _created = Cursor.objects.get_or_create(
        integration=job.integration, connection=gateway, entity=FETCHED_UNTIL
    )
    until = window.setdefault("until", timezone.localdate())
    if "since" not in window:
        window["since"] = _scheduled_since(job, cursor, until)
    try:
        results = fetch_payouts(connection=gateway, **window)
    except AuthExpired:
        raise  # the merchant must reconnect: the job fails and says so
    except (ApiError, ImportRejected) as exc:
        # What was imported before stays; booking what is there still goes on.
        message = getattr(exc, "message", None) or str(exc)
        engine.item_record(
            job,
            object_type="fetch",
            key=gateway.get_platform_display()[:100],
            outcome=SyncItem.Outcome.FAILED,
            message=_("Fetching payouts failed: %(error)s") % {"error": message},
            detail=getattr(exc, "exchange", None),
        )
        gateway.record_error(message)
        return
    for result in results:
        for payout in result.payouts:
            engine.item_record(
                job,
                object_type="payout",
                key=payout.reference[:100],
                outcome=SyncItem.Outcome.TRANSFERRED,
                message=_("Imported: %(status)s.") % {"status": payout.get_status_display()},
            )
    if not cursor.value or until.isoformat() > cursor.value:
        cursor.value = until.isoformat()
        cursor.save(update_fields=["value", "updated_at"])
    gateway.record_success()


def _scheduled_since(job: SyncJob, cursor: Cursor, until: datetime.date) -> datetime.date:
    if cursor.value:
        return min(datetime.date.fromisoformat(cursor.value) - OVERLAP, until - DEFAULT_WINDOW)
    first_day = job.integration.options.get("payouts_since")
    return datetime.date.fromisoformat(first_day) if first_day else until - DEFAULT_WINDOW
