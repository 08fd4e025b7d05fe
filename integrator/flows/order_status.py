"""Order status, ERP → shop (package 200 and up, flows 2 and 3, optional per integration).

Visma is polled for orders and invoices changed since a cursor; those whose `YourReference` is
one the orders flow wrote (`WEB-<shop>-<number>`, kept on the order's Link) are ours. What Visma
says becomes a business status:
- delivered: the Visma order is Shipped (only with the order module; an invoice alone says
  nothing about delivery);
- invoiced: there is a customer invoice (or the Visma order is Invoiced);
- paid: the invoice has nothing left to pay;
- cancelled: the invoice was credited (a credit invoice with the same YourReference). Visma
  orders have no cancelled status, and a deleted order cannot be seen by polling.
`integration.options["order_status"]` says which of them go to the shop and how, e.g.
{"delivered": {"status": "Delivered", "email": true, "tracking": true, "capture": true}}.

Exactly once: each (order, status) sent and each capture has its own Link, written pending
before the shop is touched. A retry after an unknown outcome sends again, which the clients make
harmless where the shop allows (the same status twice changes nothing; Norce refuses a second
invoice number; Shopify captures and fulfils only what is still open; WooCommerce notes are
matched by text); for Jetshop, a status the order already has is not sent again, so the shopper
gets one e-mail.

Tracking (`"tracking": true` on a status): Visma has no tracking field, so the parcel number is
read from the notes support staff or the warehouse attach to the Visma order or invoice, the
carrier from the order's delivery method, the tracking page from a table per carrier
(integrator/flows/tracking.py, where the pattern and the table can be changed per integration).
It reaches Jetshop as FreightForwarder/TrackingCode on the status (and so in its e-mail), Shopify
as the fulfilment's trackingInfo, WooCommerce in the customer note.

A status that wants tracking while the order has no note with a parcel number yet waits, for
`tracking.wait_minutes` (default 60) from when the status was first seen: the note is usually
written minutes after the order is marked shipped, and the shopper gets one e-mail, so it should
carry the number. Meanwhile the item says it is waiting (skipped), the later statuses of that
order wait with it, and the cursor stays before the order so the next run looks again. After the
wait the status goes without tracking (the shopper must not wait for their "delivered" e-mail
because of a forgotten note), and the item says so.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integrator import rules, services
from integrator.flows import FlowNotAvailable
from integrator.flows.retries import TRANSIENT_ERRORS, back_off
from integrator.flows.tracking import Tracking, TrackingSettingInvalid, find_tracking, settings
from integrator.models import Cursor, Integration, Link, SyncItem, SyncJob
from shops.clients.errors import ApiError, AuthExpired, OutcomeUnknown
from shops.clients.registry import client_for
from shops.clients.visma_bodies import parse_time
from shops.models import Connection

ENTITY_ORDER = "order"  # the orders flow's links: shop order id → Visma, natural key YourReference
ENTITY_STATUS = "order_status"
OBJECT_TYPE = "order status"
# In the order they happen; a credited order gets only "cancelled".
STATUSES = ("delivered", "invoiced", "paid", "cancelled")
# Changes are read again a little before the cursor: Visma's timestamps have whole seconds, and
# a change in the second of our last read must not be missed. The links make re-reading free.
OVERLAP = datetime.timedelta(minutes=2)
# The first run looks this far back, not at all history: old orders must not e-mail shoppers.
FIRST_LOOKBACK = datetime.timedelta(days=1)
ATTEMPTS = 4
_REFERENCE = re.compile(r"^WEB-(\d+)-(.+)$")


# What each status in the option may say: the shop's status name, and whether to e-mail the
# shopper, wait for a parcel number, capture the payment.
STATUS_SETTINGS = {"status": str, "email": bool, "tracking": bool, "capture": bool}


def check_order_status(config: Any) -> None:
    """ValueError saying what is wrong with an integration's order_status option."""
    if not isinstance(config, dict):
        raise ValueError(_("give an object of {status: {settings}}."))
    for status, wanted in config.items():
        if status not in STATUSES:
            raise ValueError(
                _("%(status)s is not a status we read from Visma (known: %(known)s).")
                % {"status": status, "known": ", ".join(STATUSES)}
            )
        if not isinstance(wanted, dict):
            raise ValueError(_("%(status)s: give an object of settings.") % {"status": status})
        for name, value in wanted.items():
            if name not in STATUS_SETTINGS:
                raise ValueError(
                    _("%(status)s: unknown setting %(name)s (known: %(known)s).")
                    % {"status": status, "name": name, "known": ", ".join(STATUS_SETTINGS)}
                )
            if not isinstance(value, STATUS_SETTINGS[name]):
                expected = _("a status name") if name == "status" else "true/false"
                raise ValueError(
                    _("%(status)s: %(name)s must be %(expected)s.")
                    % {"status": status, "name": name, "expected": expected}
                )


@dataclass
class Reached:
    """What Visma says about one of our orders."""

    reference: str
    statuses: set[str] = field(default_factory=set)
    invoice_number: str = ""
    erp_order_number: str = ""
    documents: list[str] = field(default_factory=list)  # Visma order / invoice ids, for notes
    delivery_method: str = ""
    changed_at: datetime.datetime | None = None  # the latest change Visma reported

    def saw(self, document_id: str, changed_at: datetime.datetime | None) -> None:
        if document_id and document_id not in self.documents:
            self.documents.append(document_id)
        if changed_at and (self.changed_at is None or changed_at > self.changed_at):
            self.changed_at = changed_at


class Notes:
    """The notes on the Visma documents of this run's orders, read once, when first asked."""

    def __init__(self, erp: Any, found: list[Reached]) -> None:
        self.erp = erp
        self.documents = [d for f in found for d in f.documents]
        self.by_document: dict[str, list[Any]] | None = None

    def of(self, found: Reached) -> list[Any]:
        if self.by_document is None:
            self.by_document = self.erp.notes_by_document(self.documents)
        return [n for d in found.documents for n in self.by_document.get(d.lower(), [])]


def send_order_statuses(job: SyncJob) -> None:
    integration = job.integration
    config: dict[str, dict[str, Any]] = integration.options.get("order_status") or {}
    if not any(status in config for status in STATUSES):
        return  # optional: this integration sends no statuses back
    erp = client_for(integration.erp)
    cursor, _created = Cursor.objects.get_or_create(
        integration=integration, connection=integration.erp, entity=ENTITY_STATUS
    )
    started = timezone.now()
    since = (parse_datetime(cursor.value) if cursor.value else None) or started - FIRST_LOOKBACK
    reached = _read_visma(integration, erp, since - OVERLAP)
    links = {
        link.natural_key: link
        for link in Link.objects.filter(
            integration=integration,
            entity=ENTITY_ORDER,
            natural_key__in=list(reached),
            state=Link.State.DONE,
        ).select_related("source_connection")
    }
    ours = [reached[key] for key in sorted(links)]
    services.job_progress(job, total=len(ours))
    try:
        tracking = settings(integration.options)
    except TrackingSettingInvalid as exc:
        raise FlowNotAvailable(str(exc)) from exc
    run = StatusRun(job, config, tracking, Notes(erp, ours))
    shops: dict[int, Any] = {}
    waiting: list[datetime.datetime] = []
    for found in ours:
        link = links[found.reference]
        shop_connection = link.source_connection
        if shop_connection.pk not in shops:
            shops[shop_connection.pk] = client_for(shop_connection)
        statuses = ["cancelled"] if "cancelled" in found.statuses else list(STATUSES[:3])
        for status in statuses:
            if status in found.statuses and status in config:
                if _send(run, shop_connection, shops[shop_connection.pk], link, found, status):
                    # Waiting for the parcel number: the later statuses wait too (in order),
                    # and the next run must read this order again.
                    waiting.append(found.changed_at or started)
                    break
        services.job_progress(job)
    # Moved only after every order was handled: a stopped job reads the same changes again.
    cursor.value = min([started, *waiting]).isoformat()
    cursor.save(update_fields=["value", "updated_at"])
    integration.erp.record_success()


# --- reading Visma --------------------------------------------------------------------------------


def _read_visma(integration: Integration, erp: Any, since: datetime.datetime) -> dict[str, Reached]:
    reached: dict[str, Reached] = {}

    def of(reference: str) -> Reached:
        return reached.setdefault(reference, Reached(reference))

    if integration.order_target == Integration.OrderTarget.ORDER:
        for order in erp.orders(changed_since=since):
            if not _REFERENCE.match(order.your_reference):
                continue
            found = of(order.your_reference)
            found.erp_order_number = order.number
            found.delivery_method = order.delivery_method or found.delivery_method
            found.saw(order.id, order.modified_at)
            if order.status == "Shipped" or (order.status == "Invoiced" and order.shipped_at):
                found.statuses.add("delivered")
            if order.status == "Invoiced":
                found.statuses.add("invoiced")
    for invoice in _changed_invoices(erp, since):
        if not _REFERENCE.match(invoice.your_reference):
            continue
        found = of(invoice.your_reference)
        if invoice.is_credit:
            found.statuses.add("cancelled")
            continue
        found.saw(invoice.id, invoice.modified_at)
        found.delivery_method = found.delivery_method or invoice.delivery_method
        found.invoice_number = invoice.invoice_number
        found.statuses.add("invoiced")
        if invoice.total_amount > 0 and invoice.remaining_amount <= 0:
            found.statuses.add("paid")
    return reached


@dataclass(frozen=True)
class InvoiceState:
    id: str
    delivery_method: str
    modified_at: datetime.datetime | None
    invoice_number: str
    your_reference: str
    total_amount: Decimal
    remaining_amount: Decimal
    is_credit: bool


def _changed_invoices(erp: Any, since: datetime.datetime) -> list[InvoiceState]:
    """Customer invoices changed since `since`. A stopgap for a client gap: VismaClient has no
    `invoices(changed_since=)` and its ErpInvoice leaves out IsCreditInvoice, so this reads the
    list endpoint through the client's own paging and keeps only what this flow needs. Move it
    into shops/clients/visma.py when that grows the method."""
    wanted = erp._changed_since("ModifiedUtc", since)  # the same filter its orders() sends
    return [
        InvoiceState(
            id=str(row.get("Id") or ""),
            delivery_method=str(row.get("DeliveryMethodName") or ""),
            modified_at=parse_time(row.get("ModifiedUtc")),
            invoice_number=str(row.get("InvoiceNumber") or ""),
            your_reference=str(row.get("YourReference") or ""),
            # In the invoice's currency: "paid" is nothing left of what the buyer owes.
            total_amount=Decimal(str(row.get("TotalAmountInvoiceCurrency") or 0)),
            remaining_amount=Decimal(str(row.get("RemainingAmountInvoiceCurrency") or 0)),
            is_credit=bool(row.get("IsCreditInvoice")),
        )
        for row in erp.iter_all("/v2/customerinvoices", wanted)
    ]


# --- writing to the shop --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRun:
    job: SyncJob
    config: dict[str, dict[str, Any]]
    tracking: dict[str, Any]  # tracking.settings() of the integration
    notes: Notes


def _send(
    run: StatusRun,
    shop_connection: Connection,
    shop: Any,
    order_link: Link,
    found: Reached,
    status: str,
) -> bool:
    """Send one status (and its capture); True when it waits for the parcel number."""
    job = run.job
    wanted = run.config[status] or {}
    number = _order_number(found.reference)
    steps = [("", _set_status)]
    if wanted.get("capture"):
        steps.append((":capture", _capture))
    for suffix, step in steps:
        key = f"{number}: {status}" + (" (capture)" if suffix else "")
        link, created = Link.objects.get_or_create(
            integration=job.integration,
            entity=ENTITY_STATUS,
            source_connection=job.integration.erp,
            source_id=f"{found.reference}:{status}{suffix}",
            target_connection=shop_connection,
            defaults={
                "natural_key": _capture_key(found) if suffix else found.reference,
                "state": Link.State.PENDING,
            },
        )
        if link.state == Link.State.DONE:
            continue  # sent by an earlier run; re-read because of the cursor's overlap
        tracking, without = None, ""
        if not suffix and wanted.get("tracking"):
            tracking = find_tracking(run.notes.of(found), found.delivery_method, run.tracking)
            if tracking is None:
                waited = timezone.now() - link.created_at
                limit = datetime.timedelta(minutes=run.tracking["wait_minutes"])
                if waited < limit:
                    _outcome(job, key, SyncItem.Outcome.SKIPPED, _waiting(found, link, limit))
                    return True
                without = _(
                    " Sent without tracking: no note on the Visma order or invoice has a parcel "
                    "number after %(minutes)d minutes."
                ) % {"minutes": run.tracking["wait_minutes"]}
        context = Step(
            shop_connection, shop, order_link.source_id, status, wanted, link, not created, tracking
        )
        for attempt in range(1, ATTEMPTS + 1):
            try:
                message, remote_id = step(context)
            except AuthExpired:
                raise
            except TRANSIENT_ERRORS as exc:
                if attempt < ATTEMPTS:
                    back_off(exc, attempt)
                    continue
                if not isinstance(exc, OutcomeUnknown):
                    raise  # the shop is down: stop; the cursor waits, the link stays pending
                _outcome(job, key, SyncItem.Outcome.FAILED, exc.message, detail=exc.exchange)
                return False
            except ApiError as exc:
                _outcome(job, key, SyncItem.Outcome.FAILED, exc.message, detail=exc.exchange)
                return False
            except (NotSupported, ValueError, LookupError) as exc:
                _outcome(job, key, SyncItem.Outcome.FAILED, str(exc))
                return False
            break
        link.mark_done(remote_id)
        _outcome(job, key, SyncItem.Outcome.TRANSFERRED, message + without, remote_id=remote_id)
    return False


def _waiting(found: Reached, link: Link, limit: datetime.timedelta) -> str:
    until = timezone.localtime(link.created_at + limit).strftime("%H:%M")
    return _(
        "Waiting for the parcel number: no note on the Visma order or invoice has one yet. "
        "Sent with it as soon as someone writes it, or without it at %(until)s."
    ) % {"until": until}


@dataclass(frozen=True)
class Step:
    shop_connection: Connection
    shop: Any
    shop_order_id: str
    status: str
    wanted: dict[str, Any]
    link: Link
    retrying: bool  # the link was pending from an earlier run: its outcome is unknown
    tracking: Tracking | None = None


class NotSupported(Exception):
    """The shop's API cannot do what the configuration asks."""


def _set_status(step: Step) -> tuple[str, str]:
    platform = step.shop_connection.platform
    email = bool(step.wanted.get("email"))
    parcel = step.tracking
    forwarder, tracking = (parcel.carrier, parcel.number) if parcel else ("", "")
    shown = f"{forwarder} {tracking}".strip()
    name = str(step.wanted.get("status") or "")
    if platform == Connection.Platform.JETSHOP:
        if not name:
            raise NotSupported(_("No Jetshop status is configured for %s.") % step.status)
        if step.retrying and _jetshop_has(step, name):
            return _("Already %(status)s in the shop.") % {"status": name}, name
        step.shop.send_order_status(
            step.shop_order_id,
            name,
            send_email=email,
            freight_forwarder=forwarder,
            tracking_code=tracking,
        )
        return _status_message(name, email, shown), name
    if platform == Connection.Platform.SHOPIFY:
        if step.status != "delivered":
            raise NotSupported(
                _("Shopify has no order status to set for %s; only delivery (fulfilment).")
                % step.status
            )
        fulfilment = step.shop.fulfil_order(
            step.shop_order_id,
            tracking_number=tracking,
            tracking_company=forwarder,
            tracking_url=parcel.url if parcel else "",
            notify_customer=email,
        )
        return _status_message("fulfilled", email, shown), fulfilment
    if platform == Connection.Platform.WOOCOMMERCE:
        if name:
            step.shop.update_order_status(step.shop_order_id, name)
        note_id = ""
        if email:
            # WooCommerce mails the shopper a customer note; the client matches notes by text,
            # so a retry adds no second one.
            note = _("Your order has a new status: %(status)s.") % {"status": name or step.status}
            if parcel:
                note += " " + _tracking_text(parcel)
            note_id = step.shop.add_order_note(step.shop_order_id, note, customer_note=True)
        elif parcel:
            # No e-mail wanted: the parcel number still belongs on the order, for the merchant.
            note_id = step.shop.add_order_note(
                step.shop_order_id, _tracking_text(parcel), customer_note=False
            )
        return _status_message(name or step.status, email, shown), note_id or name
    raise NotSupported(_("Order statuses cannot be sent to this shop platform."))


def _jetshop_has(step: Step, name: str) -> bool:
    """A pending link from an earlier run: the status may have gone through with its e-mail.
    If the order already has it, sending again would only mail the shopper twice."""
    orders = step.shop.orders_by_id([step.shop_order_id])
    return bool(orders) and orders[0].status == name


def _capture(step: Step) -> tuple[str, str]:
    platform = step.shop_connection.platform
    if platform == Connection.Platform.JETSHOP:
        capture = step.shop.capture_order(
            step.shop_order_id,
            invoice_no=step.link.natural_key,
            invoice_date=timezone.localdate(),
        )
        if capture.already_captured:
            return _(
                "Payment already captured (invoice %s)."
            ) % capture.invoice_no, capture.invoice_no
        return (
            _("Payment captured: %(amount)s (invoice %(number)s).")
            % {"amount": capture.amount, "number": capture.invoice_no},
            capture.invoice_no,
        )
    if platform == Connection.Platform.SHOPIFY:
        transaction_id = step.shop.capture_payment(step.shop_order_id)
        return _("Payment captured."), transaction_id
    raise NotSupported(
        _("This shop's API cannot capture payments; its payment plugin captures on the status.")
    )


def _capture_key(found: Reached) -> str:
    """The invoice number the shop's capture is keyed on: Visma's, or, for an order not yet
    invoiced, the Visma order number. Kept on the link, so a retry uses the same one."""
    return found.invoice_number or f"O{found.erp_order_number}" or found.reference


def _tracking_text(parcel: Tracking) -> str:
    text = _("Track your parcel: %(number)s") % {"number": parcel.number}
    if parcel.carrier:
        text = _("Track your parcel with %(carrier)s: %(number)s") % {
            "carrier": parcel.carrier,
            "number": parcel.number,
        }
    return f"{text} {parcel.url}".strip()


def _status_message(name: str, email: bool, tracking: str) -> str:
    message = _("Status %(status)s") % {"status": name}
    if email:
        message += _(", shopper e-mailed")
    if tracking:
        message += _(", tracking %(code)s") % {"code": tracking}
    return message


def _order_number(reference: str) -> str:
    match = _REFERENCE.match(reference)
    return match.group(2) if match else reference


def _outcome(
    job: SyncJob,
    key: str,
    outcome: str,
    message: str,
    *,
    remote_id: str = "",
    detail: Any = None,
) -> None:
    services.item_record(
        job,
        object_type=OBJECT_TYPE,
        key=key[:100],
        outcome=outcome,
        message=message,
        remote_id=remote_id[:100],
        detail=detail,
    )


def enqueue_order_status_syncs() -> int:
    """Scheduled (migration 0005): for every integration that sends statuses back and whose
    flow and package include it. One already queued or running is left alone."""
    count = 0
    for integration in Integration.objects.filter(enabled=True, erp__enabled=True):
        if not (integration.options or {}).get("order_status"):
            continue
        if rules.why_not(integration, SyncJob.Kind.ORDER_STATUS):
            continue
        _job, created = services.job_enqueue(
            integration=integration,
            kind=SyncJob.Kind.ORDER_STATUS,
            trigger=SyncJob.Trigger.SCHEDULE,
        )
        count += created
    return count
