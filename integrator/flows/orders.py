"""Orders with customers, shop → ERP, exactly once.

For every order: a local intent (a pending Link carrying the natural key `YourReference`) is
committed before anything is written to Visma. A retry that finds a pending link searches Visma by
that key before it creates, so a crash or a lost response can delay an order, never duplicate it.

What the order becomes (an invoice or a Visma order), the checks before any write, and the
customer: order_documents.py and order_customers.py. Multishop routing: integrator/routing.py.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.quota import record_transferred_order
from integrator import services
from integrator.flows import FlowNotAvailable
from integrator.flows.order_customers import customer_number, ensure_customer
from integrator.flows.order_documents import (
    Document,
    OrderRejected,
    booking_date,
    check_period,
    create,
    find_existing,
    rows_for,
)
from integrator.flows.order_run import CALL_ATTEMPTS, OrderRun, back_off
from integrator.models import Cursor, Link, SyncItem, SyncJob
from integrator.routing import Route, RoutingInvalid, origin, route_for
from shops.clients.errors import ApiError, AuthExpired, OutcomeUnknown, RateLimited, RemoteDown
from shops.clients.registry import client_for
from shops.clients.types import ShopOrder
from shops.models import Connection

__all__ = ["customer_number", "transfer_orders", "your_reference"]

ENTITY_ORDER = "order"
CANCELLED_STATUSES = {"cancelled", "canceled"}
# A lost answer (the write may or may not have happened) restarts the order from a search by its
# YourReference, this many times in all; after that its link stays pending for the next run.
ITEM_ATTEMPTS = 4


def your_reference(shop: Connection, order: ShopOrder) -> str:
    """The natural key Visma can be searched by: stable per shop and order number."""
    return f"WEB-{shop.pk}-{order.order_number}"


def item_key(run: OrderRun, shop: Connection, order: ShopOrder) -> str:
    """The order number; with several shops, prefixed by the shop's id (`12:1001`), because
    two shops may both have an order 1001. A retry's `only` understands both forms."""
    return f"{shop.pk}:{order.order_number}" if run.multishop else order.order_number


def transfer_orders(job: SyncJob) -> None:
    """Per shop: first finish what earlier runs left pending, then either the orders a retry
    names (`options["only"]`) or everything new since the cursor."""
    integration = job.integration
    try:
        run = OrderRun.start(job, client_for(integration.erp))
    except RoutingInvalid as exc:
        raise FlowNotAvailable(str(exc)) from exc
    only = _only(job.options.get("only"))
    for shop_connection in integration.shops.filter(enabled=True):
        shop = client_for(shop_connection)
        run.channel_names[shop_connection.pk] = _channel_names(run, shop)
        _resume_pending(run, shop_connection, shop)
        if only is not None:
            numbers = only.get(shop_connection.pk, []) + only.get(None, [])
            if numbers:
                orders = run.call(shop.orders_by_number, numbers)
                _transfer_page(run, shop_connection, orders)
                services.job_progress(job)
        else:
            _poll(run, shop_connection, shop)
        shop_connection.record_success()
    if not run.merchant_told:
        integration.erp.record_success()


def _only(entries: list[Any] | None) -> dict[int | None, list[str]] | None:
    """A retry's order keys by shop connection id (None: look in every shop)."""
    if entries is None:
        return None
    by_shop: dict[int | None, list[str]] = {}
    for entry in map(str, entries):
        shop, sep, number = entry.partition(":")
        if sep and shop.isdigit():
            by_shop.setdefault(int(shop), []).append(number)
        else:
            by_shop.setdefault(None, []).append(entry)
    return by_shop


def _channel_names(run: OrderRun, shop: Any) -> dict[str, str]:
    """A Jetshop client's channels, to tag orders by channel; {} for shops without channels.
    Only a label: when the shop cannot say, orders are tagged by channel id alone."""
    if not hasattr(shop, "channels"):
        return {}
    try:
        return {c.id: c.name for c in run.call(shop.channels)}
    except AuthExpired:
        raise
    except ApiError:
        return {}


def _poll(run: OrderRun, shop_connection: Connection, shop: Any) -> None:
    cursor, _created = Cursor.objects.get_or_create(
        integration=run.integration, connection=shop_connection, entity=ENTITY_ORDER
    )
    failures = 0
    while True:
        try:
            for page in shop.iter_orders(cursor.value):
                _transfer_page(run, shop_connection, page.orders)
                services.job_progress(run.job)
                # Saved per page: a crash re-reads at most one page, and the links make that
                # harmless.
                cursor.value = page.next_cursor
                cursor.save(update_fields=["value", "updated_at"])
                failures = 0
            return
        except (RemoteDown, RateLimited) as exc:
            # A page (or an order on it) met trouble that outlasted its own retries: start again
            # from the saved cursor after a pause, until it fails that often in a row.
            failures += 1
            if failures >= CALL_ATTEMPTS:
                raise
            back_off(exc, failures)


def _resume_pending(run: OrderRun, shop_connection: Connection, shop: Any) -> None:
    """Orders whose transfer was interrupted (crash, lost response) lie behind the cursor:
    fetch them by id and transfer them, which searches Visma before creating anything."""
    pending = list(
        Link.objects.filter(
            integration=run.integration,
            entity=ENTITY_ORDER,
            source_connection=shop_connection,
            target_connection=run.integration.erp,
            state=Link.State.PENDING,
        ).values_list("source_id", flat=True)
    )
    if pending:
        _transfer_page(run, shop_connection, run.call(shop.orders_by_id, pending), force=True)
        services.job_progress(run.job)


def _transfer_page(
    run: OrderRun, shop: Connection, orders: list[ShopOrder], *, force: bool = False
) -> None:
    """Transfer the orders the integration's statuses select (all of them when `force`: an
    order with a pending link was selected once and must be finished)."""
    statuses = run.integration.trigger_statuses_for(shop)
    wanted = [o for o in orders if force or _triggers_transfer(statuses, o)]
    # One query for the page's links, not one per order.
    links = {
        link.source_id: link
        for link in Link.objects.filter(
            integration=run.integration,
            entity=ENTITY_ORDER,
            source_connection=shop,
            target_connection=run.integration.erp,
            source_id__in=[o.shop_order_id for o in wanted],
        )
    }
    for order in wanted:
        transfer_order(run, shop, order, links.get(order.shop_order_id))


def _triggers_transfer(statuses: set[str], order: ShopOrder) -> bool:
    # A cancelled order never becomes an invoice, whatever the configured statuses say.
    if order.status.lower() in CANCELLED_STATUSES:
        return False
    return not statuses or order.status.casefold() in statuses


def transfer_order(run: OrderRun, shop: Connection, order: ShopOrder, link: Link | None) -> None:
    """Transfer one order, or record why not. A lost answer is retried here with back-off;
    every retry starts by searching Visma, so it never doubles. The integration's plugins change
    what is sent, never the keys it is found by."""
    key = item_key(run, shop, order)
    changed, left_out_by = run.plugins.order(order)
    if changed is None:
        _record(
            run,
            key,
            SyncItem.Outcome.SKIPPED,
            _("Left out by the plugin %(name)s.") % {"name": left_out_by},
        )
        return
    if link is not None and link.state == Link.State.DONE:
        _record(run, key, SyncItem.Outcome.SKIPPED, _("Already transferred."), link.target_id)
        return
    reference = your_reference(shop, order)
    route = route_for(run.routes, shop, order)
    names = run.channel_names.get(shop.pk, {})
    where = origin(shop, order, names) if run.multishop or len(names) > 1 else ""
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        if attempt > 1:
            link = _order_link(run, shop, order)  # an attempt that failed may have written it
        try:
            document = _transfer(run, shop, changed, reference, link, route, where)
        except OrderRejected as exc:
            _record(run, key, SyncItem.Outcome.FAILED, str(exc))
            return
        except OrderInFlight:
            _record(
                run,
                key,
                SyncItem.Outcome.SKIPPED,
                _("Another worker is transferring this order; it or the next run finishes it."),
            )
            return
        except AuthExpired:
            raise  # and ModuleMissing: only the merchant can fix it; the job stops and says so
        except OutcomeUnknown as exc:
            if attempt == ITEM_ATTEMPTS:
                # The link stays pending: the next run searches Visma and finishes it.
                _record(run, key, SyncItem.Outcome.FAILED, exc.message, detail=exc.exchange)
                return
            back_off(exc, attempt)
            continue
        except ApiError as exc:
            if exc.retryable:
                raise  # still down or throttling after every retry: stop, the cursor waits
            if exc.needs_merchant:  # a closed period: the merchant must open it
                run.integration.erp.record_error(exc.message, needs_merchant=True)
                run.merchant_told = True
            _record(run, key, SyncItem.Outcome.FAILED, exc.message, detail=exc.exchange)
            return
        message = f"{document.description} · {where}" if where else document.description
        detail = _routing_detail(shop, order, route) if where or route.key else None
        _record(run, key, SyncItem.Outcome.TRANSFERRED, message, document.id, detail)
        # Counted against the package quota once per order, however often it is retried.
        record_transferred_order(
            customer=run.integration.customer, reference=reference, transferred_at=timezone.now()
        )
        return


def _transfer(
    run: OrderRun,
    shop: Connection,
    order: ShopOrder,
    reference: str,
    link: Link | None,
    route: Route,
    where: str,
) -> Document:
    if link is not None:
        # An earlier attempt wrote the intent and then its outcome was lost: look before creating.
        found = find_existing(run, reference)
        if found is not None:
            link.mark_done(found.id)
            return found
    # Reads and checks only: an order that cannot be booked is refused before any write.
    rows = rows_for(run, order, route, where)
    if order.customer.billing is None:
        raise OrderRejected(_("The order has no billing address."))
    check_period(run, booking_date(order))
    if link is None:
        link, ours = _new_link(run, shop, order, reference)
        if not ours:
            # Another worker wrote the intent a moment ago and may be creating the order now:
            # creating it here too could double it. Its link stays pending for that worker or
            # the next run, which searches Visma before it creates.
            raise OrderInFlight
    customer_id = ensure_customer(run, shop, order, route)
    document = create(run, order, customer_id=customer_id, reference=reference, rows=rows)
    link.mark_done(document.id)
    return document


class OrderInFlight(Exception):
    """Another worker holds this order's intent: it is theirs to finish (or the next run's)."""


def _new_link(
    run: OrderRun, shop: Connection, order: ShopOrder, reference: str
) -> tuple[Link, bool]:
    """The order's intent, and whether this worker wrote it."""
    try:
        with transaction.atomic():
            link = Link.objects.create(
                integration=run.integration,
                entity=ENTITY_ORDER,
                source_connection=shop,
                source_id=order.shop_order_id,
                target_connection=run.integration.erp,
                natural_key=reference,
                state=Link.State.PENDING,
            )
        return link, True
    except IntegrityError:
        # Written meanwhile by a worker that took over this job: theirs is the intent.
        existing = _order_link(run, shop, order)
        assert existing is not None
        return existing, False


def _order_link(run: OrderRun, shop: Connection, order: ShopOrder) -> Link | None:
    return Link.objects.filter(
        integration=run.integration,
        entity=ENTITY_ORDER,
        source_connection=shop,
        source_id=order.shop_order_id,
        target_connection=run.integration.erp,
    ).first()


def _routing_detail(shop: Connection, order: ShopOrder, route: Route) -> dict[str, Any]:
    return {
        "shop": {"id": shop.pk, "name": shop.name, "platform": shop.platform},
        "channel": order.channel,
        "route": route.key,
        "customer_number_prefix": route.customer_number_prefix,
    }


def _record(
    run: OrderRun,
    key: str,
    outcome: str,
    message: str,
    remote_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    services.item_record(
        run.job,
        object_type=ENTITY_ORDER,
        key=key,
        outcome=outcome,
        message=message,
        remote_id=remote_id,
        detail=detail,
    )
