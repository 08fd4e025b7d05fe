"""What an order becomes in Visma — a customer invoice (a draft, converted) or an order (the
merchant's order module) — and the checks that refuse it before anything is written: unknown
articles, VAT rates that differ between the shop and Visma, a closed accounting period."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from integrator.flows.order_run import OrderRun
from integrator.routing import Route
from shops.clients.errors import NotFound, PeriodClosed
from shops.clients.types import (
    ErpArticle,
    NewErpOrder,
    NewInvoiceDraft,
    NewInvoiceRow,
    ShopOrder,
    ShopOrderRow,
)

DEFAULT_SHIPPING_ARTICLE = "FRAKT"


class OrderRejected(Exception):
    """This order cannot be transferred as it is; the reason is for support staff to read."""


@dataclass(frozen=True)
class Document:
    """What the order became in Visma: an invoice or an order, by id and number."""

    id: str
    number: str
    is_order: bool

    @property
    def description(self) -> str:
        if self.is_order:
            return _("Visma order %(number)s") % {"number": self.number}
        return _("Customer invoice %(number)s") % {"number": self.number}


def booking_date(order: ShopOrder) -> datetime.date:
    # The day the shopper ordered, as the merchant's books count days (Stockholm).
    return timezone.localtime(order.created_at).date()


def check_period(run: OrderRun, day: datetime.date) -> None:
    """OrderRejected when nothing can be booked on `day`; asked once per day and run."""
    if day not in run.periods:
        try:
            run.call(run.erp.ensure_period_open, day)
            run.periods[day] = ""
        except PeriodClosed as exc:
            run.periods[day] = exc.message
    if run.periods[day]:
        raise PeriodClosed(run.periods[day])


def rows_for(run: OrderRun, order: ShopOrder, route: Route, origin: str) -> list[NewInvoiceRow]:
    """The document rows, or OrderRejected naming the row that cannot be booked as it is."""
    if not order.rows:
        raise OrderRejected(_("The order has no rows."))
    options = run.integration.options
    shipping_number = options.get("shipping_article", DEFAULT_SHIPPING_ARTICLE)
    # Rows without an article number (a payment fee, a gift wrap) go on this article if set.
    fee_number = options.get("fee_article", "")
    rows = []
    if origin:
        # Which shop (and Jetshop channel) sold it, on the document itself: a text row, since
        # the client sends no OurReference.
        rows.append(
            _text_row(
                _("Order %(number)s from %(origin)s")
                % {"number": order.order_number, "origin": origin}
            )
        )
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
        article = _article(run, number)
        _check_vat(row, article)
        rows.append(_row(row, article, route))
    return rows


def _text_row(text: str) -> NewInvoiceRow:
    return NewInvoiceRow(
        article_id=None,
        text=text,
        quantity=Decimal("0"),
        unit_price=Decimal("0"),
        discount_percent=Decimal("0"),
    )


def _row(row: ShopOrderRow, article: ErpArticle, route: Route) -> NewInvoiceRow:
    return NewInvoiceRow(
        article_id=article.id,
        text=row.description,
        quantity=row.quantity,
        unit_price=row.unit_price,
        discount_percent=row.discount_percent or Decimal("0"),
        vat_rate=row.vat_rate,
        cost_centre_id=route.cost_centre_id,
    )


def _article(run: OrderRun, number: str) -> ErpArticle:
    if number not in run.articles:
        try:
            run.articles[number] = run.call(run.erp.find_article, number)
        except NotFound:
            run.articles[number] = None
    article = run.articles[number]
    if article is None:
        raise OrderRejected(
            _("Article %(number)s does not exist in the accounting system.") % {"number": number}
        )
    return article


def _check_vat(row: ShopOrderRow, article: ErpArticle) -> None:
    """The shop's rate decides what the shopper paid; Visma books by the article's coding.
    When they differ, booking either one would be wrong, so the order waits for a person.
    A row that costs nothing (free shipping) carries no VAT, so its rate cannot be wrong."""
    if row.unit_price == 0:
        return
    if article.vat_rate is None:
        raise OrderRejected(
            _(
                "Row %(text)s: Visma eEkonomi gives no VAT rate for article %(number)s, so the "
                "shop's %(shop)s %% cannot be checked; we never guess one."
            )
            % {"text": row.description, "number": article.number, "shop": _pct(row.vat_rate)}
        )
    if Decimal(row.vat_rate) != article.vat_rate:
        raise OrderRejected(
            _(
                "Row %(text)s: the shop charged %(shop)s %% VAT, but article %(number)s in "
                "Visma eEkonomi has %(erp)s %%. Correct the rate in the shop or the article's "
                "account coding in Visma, then retry the order."
            )
            % {
                "text": row.description,
                "number": article.number,
                "shop": _pct(row.vat_rate),
                "erp": _pct(article.vat_rate),
            }
        )


def _pct(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f}"


def find_existing(run: OrderRun, reference: str) -> Document | None:
    """What an earlier attempt left in Visma under `reference`, finished if it was half done."""
    erp = run.erp
    if run.makes_orders:
        # A company without the order module answers ModuleMissing, whose message says so.
        order = run.call(erp.find_order, reference)
        return Document(order.id, order.number, True) if order is not None else None
    invoice = run.call(erp.find_invoice, reference)
    if invoice is not None:
        return Document(invoice.id, invoice.invoice_number, False)
    draft = run.call(erp.find_invoice_draft, reference)
    if draft is not None:
        # The draft was created but not converted before the crash: finish what it started.
        invoice = run.call(erp.convert_invoice_draft, draft.id)
        return Document(invoice.id, invoice.invoice_number, False)
    return None


def create(
    run: OrderRun, order: ShopOrder, *, customer_id: str, reference: str, rows: list[NewInvoiceRow]
) -> Document:
    erp = run.erp
    customer = order.customer
    assert customer.billing is not None  # checked before anything is written
    if run.makes_orders:
        created = run.call(
            erp.create_order,
            NewErpOrder(
                customer_id=customer_id,
                your_reference=reference,
                customer_is_private_person=not customer.is_company,
                invoice_address=customer.billing,
                delivery_address=customer.shipping,
                order_date=booking_date(order),
                currency=order.currency,
                rows=rows,
            ),
        )
        return Document(created.id, created.number, True)
    draft = run.call(
        erp.create_invoice_draft,
        NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=reference,
            customer_is_private_person=not customer.is_company,
            invoice_address=customer.billing,
            delivery_address=customer.shipping,
            invoice_date=booking_date(order),
            rows=rows,
        ),
    )
    invoice = run.call(erp.convert_invoice_draft, draft.id)
    return Document(invoice.id, invoice.invoice_number, False)
