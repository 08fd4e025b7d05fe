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

Tracking: Visma has no parcel tracking field on orders or invoices (only the delivery method),
and our Visma client exposes neither, so nothing is sent as tracking until it does.
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
from integrator.flows.retries import TRANSIENT_ERRORS, back_off
from integrator.models import Cursor, Integration, Link, SyncItem, SyncJob
from shops.clients.errors import ApiError, AuthExpired, OutcomeUnknown
from shops.clients.registry import client_for
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


@dataclass
class Reached:
    """What Visma says about one of our orders."""

    reference: str
    statuses: set[str] = field(default_factory=set)
    invoice_number: str = ""
    erp_order_number: str = ""


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
    shops: dict[int, Any] = {}
    for found in ours:
        link = links[found.reference]
        shop_connection = link.source_connection
        if shop_connection.pk not in shops:
            shops[shop_connection.pk] = client_for(shop_connection)
        statuses = ["cancelled"] if "cancelled" in found.statuses else list(STATUSES[:3])
        for status in statuses:
            if status in found.statuses and status in config:
                _send(job, shop_connection, shops[shop_connection.pk], link, found, status, config)
        services.job_progress(job)
    # Moved only after every order was handled: a stopped job reads the same changes again.
    cursor.value = started.isoformat()
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
        found.invoice_number = invoice.invoice_number
        found.statuses.add("invoiced")
        if invoice.total_amount > 0 and invoice.remaining_amount <= 0:
            found.statuses.add("paid")
    return reached


@dataclass(frozen=True)
class InvoiceState:
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
            invoice_number=str(row.get("InvoiceNumber") or ""),
            your_reference=str(row.get("YourReference") or ""),
            total_amount=Decimal(str(row.get("TotalAmount") or 0)),
            remaining_amount=Decimal(str(row.get("RemainingAmount") or 0)),
            is_credit=bool(row.get("IsCreditInvoice")),
        )
        for row in erp.iter_all("/v2/customerinvoices", wanted)
    ]


# --- writing to the shop --------------------------------------------------------------------------


def _send(
    job: SyncJob,
    shop_connection: Connection,
    shop: Any,
    order_link: Link,
    found: Reached,
    status: str,
    config: dict[str, dict[str, Any]],
) -> None:
    wanted = config[status] or {}
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
        context = Step(
            shop_connection, shop, order_link.source_id, status, wanted, link, not created
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
                return
            except ApiError as exc:
                _outcome(job, key, SyncItem.Outcome.FAILED, exc.message, detail=exc.exchange)
                return
            except (NotSupported, ValueError, LookupError) as exc:
                _outcome(job, key, SyncItem.Outcome.FAILED, str(exc))
                return
            break
        link.mark_done(remote_id)
        _outcome(job, key, SyncItem.Outcome.TRANSFERRED, message, remote_id=remote_id)


@dataclass(frozen=True)
class Step:
    shop_connection: Connection
    shop: Any
    shop_order_id: str
    status: str
    wanted: dict[str, Any]
    link: Link
    retrying: bool  # the link was pending from an earlier run: its outcome is unknown


class NotSupported(Exception):
    """The shop's API cannot do what the configuration asks."""


def _set_status(step: Step) -> tuple[str, str]:
    platform = step.shop_connection.platform
    email = bool(step.wanted.get("email"))
    forwarder, tracking = _tracking(step) if step.wanted.get("tracking") else ("", "")
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
        return _status_message(name, email, tracking), name
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
            notify_customer=email,
        )
        return _status_message("fulfilled", email, tracking), fulfilment
    if platform == Connection.Platform.WOOCOMMERCE:
        if name:
            step.shop.update_order_status(step.shop_order_id, name)
        note_id = ""
        if email:
            # WooCommerce mails the shopper a customer note; the client matches notes by text,
            # so a retry adds no second one.
            note = _("Your order has a new status: %(status)s.") % {"status": name or step.status}
            note_id = step.shop.add_order_note(step.shop_order_id, note, customer_note=True)
        return _status_message(name or step.status, email, tracking), note_id or name
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


def _tracking(step: Step) -> tuple[str, str]:
    # Client gap: neither ErpOrder nor ErpInvoice carries tracking (Visma has no such field).
    return "", ""


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
