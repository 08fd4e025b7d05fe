"""Orders with customers, shop → ERP, exactly once.

For every order: a local intent (a pending Link carrying the natural key `YourReference`) is
committed before anything is written to Visma. A retry that finds a pending link searches Visma by
that key before it creates, so a crash or a lost response can delay an order, never duplicate it.
"""

from __future__ import annotations

import hashlib
import time
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.quota import record_transferred_order
from integrator import services
from integrator.models import Cursor, Integration, Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import (
    ApiError,
    AuthExpired,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RemoteDown,
)
from shops.clients.registry import client_for
from shops.clients.types import (
    ErpInvoice,
    NewErpCustomer,
    NewInvoiceDraft,
    NewInvoiceRow,
    ShopCustomer,
    ShopOrder,
)
from shops.models import Connection

ENTITY_ORDER = "order"
ENTITY_CUSTOMER = "customer"
DEFAULT_SHIPPING_ARTICLE = "FRAKT"
CANCELLED_STATUSES = {"cancelled", "canceled"}

# Trouble that says nothing about the order itself: worth another try after a pause. If it
# lasts, the remote system is down (stop the job; the cursor waits) or, for a lost response,
# the order's link stays pending for the next run to resolve.
TRANSIENT_ERRORS = (RemoteDown, RateLimited, OutcomeUnknown)
ITEM_ATTEMPTS = 4


class OrderRejected(Exception):
    """This order cannot be transferred as it is; the reason is for support staff to read."""


def your_reference(shop: Connection, order: ShopOrder) -> str:
    """The natural key Visma can be searched by: stable per shop and order number."""
    return f"WEB-{shop.pk}-{order.order_number}"


def customer_number(shop: Connection, customer: ShopCustomer) -> str:
    """Ours, at most 16 characters, stable per shop customer (guests by e-mail)."""
    basis = customer.shop_customer_id or customer.email.strip().lower() or customer.name
    if customer.shop_customer_id and len(customer.shop_customer_id) <= 10:
        return f"W{shop.pk}-{customer.shop_customer_id}"[:16]
    return f"W{shop.pk}-" + hashlib.sha1(basis.encode()).hexdigest()[: 16 - len(f"W{shop.pk}-")]


def transfer_orders(job: SyncJob) -> None:
    """Per shop: first finish what earlier runs left pending, then either the orders a retry
    names (`options["only"]`, order numbers) or everything new since the cursor."""
    integration = job.integration
    erp = client_for(integration.erp)
    job.plugins = Pipeline.for_integration(integration)
    only = [str(n) for n in job.options.get("only", [])]
    for shop_connection in integration.shops.filter(enabled=True):
        shop = client_for(shop_connection)
        _resume_pending(job, shop_connection, shop, erp)
        if only:
            for order in shop.orders_by_number(only):
                _consider(job, shop_connection, erp, order)
            services.job_progress(job)
        else:
            _poll(job, shop_connection, shop, erp)
        shop_connection.record_success()
    integration.erp.record_success()


def _poll(job: SyncJob, shop_connection: Connection, shop, erp) -> None:
    cursor, _created = Cursor.objects.get_or_create(
        integration=job.integration, connection=shop_connection, entity=ENTITY_ORDER
    )
    for page in shop.iter_orders(cursor.value):
        for order in page.orders:
            _consider(job, shop_connection, erp, order)
        services.job_progress(job)
        # Saved per page: a crash re-reads at most one page, and the links make that harmless.
        cursor.value = page.next_cursor
        cursor.save(update_fields=["value", "updated_at"])


def _resume_pending(job: SyncJob, shop_connection: Connection, shop, erp) -> None:
    """Orders whose transfer was interrupted (crash, lost response) lie behind the cursor:
    fetch them by id and transfer them, which searches Visma before creating anything."""
    pending = list(
        Link.objects.filter(
            integration=job.integration,
            entity=ENTITY_ORDER,
            source_connection=shop_connection,
            state=Link.State.PENDING,
        ).values_list("source_id", flat=True)
    )
    if pending:
        for order in shop.orders_by_id(pending):
            transfer_order(job, shop_connection, erp, order)
        services.job_progress(job)


def _consider(job: SyncJob, shop_connection: Connection, erp, order: ShopOrder) -> None:
    if _triggers_transfer(job.integration, order):
        transfer_order(job, shop_connection, erp, order)


def _triggers_transfer(integration: Integration, order: ShopOrder) -> bool:
    # A cancelled order never becomes an invoice, whatever the configured statuses say.
    if order.status.lower() in CANCELLED_STATUSES:
        return False
    return not integration.trigger_statuses or order.status in integration.trigger_statuses


def transfer_order(job: SyncJob, shop: Connection, erp, order: ShopOrder) -> None:
    """Transfer one order, or record why not. Transient trouble (a 5xx, a 429, a lost response)
    is retried here with back-off; every retry starts by searching Visma, so it never doubles.
    The integration's plugins change what is sent, never the keys it is found by."""
    changed, left_out_by = job.plugins.order(order) if hasattr(job, "plugins") else (order, "")
    if changed is None:
        services.item_record(
            job,
            object_type=ENTITY_ORDER,
            key=order.order_number,
            outcome=SyncItem.Outcome.SKIPPED,
            message=_("Left out by the plugin %(name)s.") % {"name": left_out_by},
        )
        return
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        link = _order_link(job, shop, order)
        if link and link.state == Link.State.DONE:
            services.item_record(
                job,
                object_type=ENTITY_ORDER,
                key=order.order_number,
                outcome=SyncItem.Outcome.SKIPPED,
                message=_("Already transferred."),
                remote_id=link.target_id,
            )
            return
        try:
            invoice = _transfer(job, shop, erp, changed, your_reference(shop, order), link)
        except OrderRejected as exc:
            _item_failed(job, order, str(exc))
            return
        except AuthExpired:
            raise
        except TRANSIENT_ERRORS as exc:
            if attempt == ITEM_ATTEMPTS:
                if isinstance(exc, OutcomeUnknown):
                    # The link stays pending: the next run searches Visma and finishes it.
                    _item_failed(job, order, exc.message, exc.exchange)
                    return
                raise  # the remote side is down or throttling us: stop, the cursor waits
            _back_off(exc, attempt)
            continue
        except ApiError as exc:
            _item_failed(job, order, exc.message, exc.exchange)
            return
        services.item_record(
            job,
            object_type=ENTITY_ORDER,
            key=order.order_number,
            outcome=SyncItem.Outcome.TRANSFERRED,
            message=_("Customer invoice %(number)s") % {"number": invoice.invoice_number},
            remote_id=invoice.id,
        )
        # Counted against the package quota once per order, however often it is retried.
        record_transferred_order(
            customer=job.integration.customer,
            reference=your_reference(shop, order),
            transferred_at=timezone.now(),
        )
        return


def _order_link(job: SyncJob, shop: Connection, order: ShopOrder) -> Link | None:
    return Link.objects.filter(
        integration=job.integration,
        entity=ENTITY_ORDER,
        source_connection=shop,
        source_id=order.shop_order_id,
        target_connection=job.integration.erp,
    ).first()


def _item_failed(job: SyncJob, order: ShopOrder, message: str, detail=None) -> None:
    services.item_record(
        job,
        object_type=ENTITY_ORDER,
        key=order.order_number,
        outcome=SyncItem.Outcome.FAILED,
        message=message,
        detail=detail,
    )


def _back_off(exc: ApiError, attempt: int) -> None:
    base = settings.SYNC_RETRY_BACKOFF
    wait = getattr(exc, "retry_after", 0) or base * 2 ** (attempt - 1)
    time.sleep(min(wait, 30 * base))


def _transfer(
    job: SyncJob, shop: Connection, erp, order: ShopOrder, reference: str, link: Link | None
) -> ErpInvoice:
    integration = job.integration
    if link is not None:
        # An earlier attempt wrote the intent and then its outcome was lost: look before creating.
        found = _find_existing(erp, reference)
        if found is not None:
            _link_done(link, found.id)
            return found
    rows = _invoice_rows(integration, erp, order)  # reads only: rejects before any write
    if order.customer.billing is None:
        raise OrderRejected(_("The order has no billing address."))
    if link is None:
        link, _created = Link.objects.get_or_create(
            integration=integration,
            entity=ENTITY_ORDER,
            source_connection=shop,
            source_id=order.shop_order_id,
            target_connection=integration.erp,
            defaults={"natural_key": reference, "state": Link.State.PENDING},
        )
    customer_id = _ensure_customer(integration, shop, erp, order)
    draft = erp.create_invoice_draft(
        NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=reference,
            customer_is_private_person=not order.customer.is_company,
            invoice_address=order.customer.billing,
            delivery_address=order.customer.shipping,
            invoice_date=order.created_at.date(),
            rows=rows,
        )
    )
    invoice = erp.convert_invoice_draft(draft.id)
    _link_done(link, invoice.id)
    return invoice


def _find_existing(erp, reference: str) -> ErpInvoice | None:
    invoice = erp.find_invoice(reference)
    if invoice is not None:
        return invoice
    draft = erp.find_invoice_draft(reference)
    if draft is not None:
        # The draft was created but not converted before the crash: finish the job it started.
        return erp.convert_invoice_draft(draft.id)
    return None


def _link_done(link: Link, target_id: str) -> None:
    link.target_id = target_id
    link.state = Link.State.DONE
    link.save(update_fields=["target_id", "state", "updated_at"])


def _invoice_rows(integration: Integration, erp, order: ShopOrder) -> list[NewInvoiceRow]:
    """The invoice rows, or OrderRejected naming the row that cannot be booked as it is."""
    if not order.rows:
        raise OrderRejected(_("The order has no rows."))
    shipping_number = integration.options.get("shipping_article", DEFAULT_SHIPPING_ARTICLE)
    # Rows without an article number (a payment fee, a gift wrap) go on this article if set.
    fee_number = integration.options.get("fee_article", "")
    rows = []
    articles: dict[str, str] = {}
    for row in order.rows:
        if not row.vat_rate_known:
            raise OrderRejected(
                _("Row %(text)s: the shop gives no VAT rate, and we never guess one.")
                % {"text": row.description}
            )
        number = shipping_number if row.is_shipping else (row.article_number or fee_number)
        if not number:
            raise OrderRejected(
                _("Row %(text)s has no article number.") % {"text": row.description}
            )
        if number not in articles:
            try:
                article = erp.find_article(number)
            except NotFound:
                article = None
            if article is None:
                raise OrderRejected(
                    _("Article %(number)s does not exist in the accounting system.")
                    % {"number": number}
                )
            articles[number] = article.id
        rows.append(
            NewInvoiceRow(
                article_id=articles[number],
                text=row.description,
                quantity=row.quantity,
                unit_price=row.unit_price,
                discount_percent=row.discount_percent or Decimal("0"),
            )
        )
    return rows


def _ensure_customer(integration: Integration, shop: Connection, erp, order: ShopOrder) -> str:
    """The ERP customer id for the order's buyer: matched by our customer number, else created.
    Creation follows the same intent-then-write rule as orders."""
    number = customer_number(shop, order.customer)
    link, created = Link.objects.get_or_create(
        integration=integration,
        entity=ENTITY_CUSTOMER,
        source_connection=shop,
        source_id=number,
        target_connection=integration.erp,
        defaults={"natural_key": number, "state": Link.State.PENDING},
    )
    if link.state == Link.State.DONE:
        return link.target_id
    existing = erp.find_customer(number)
    if existing is None:
        customer = order.customer
        existing = erp.create_customer(
            NewErpCustomer(
                customer_number=number,
                name=customer.name,
                is_private_person=not customer.is_company,
                email=customer.email,
                phone=customer.phone,
                organisation_number=customer.organisation_number,
                vat_number=customer.vat_number,
                invoice_address=customer.billing,
                delivery_address=customer.shipping,
                currency=order.currency,
                terms_of_payment_id=erp.default_terms_of_payment_id(),
            )
        )
    _link_done(link, existing.id)
    return existing.id
