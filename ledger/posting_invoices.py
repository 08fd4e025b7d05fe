"""The customer invoices a payout needs in Visma eEkonomi, made exactly once.

Plus: one invoice per order, made from what the gateway says about the sale. The customer is a
company found by its organisation number when the gateway gives a valid one (Klarna, Nets and
Svea may; Stripe sometimes; PayPal never), else the gateway's one customer for private buyers.
Gateways name no articles, so every row is the generic article of its VAT rate ("PLUS-25",
"PLUS-12", "PLUS-6"), found or created by its Number.

Where the rates come from, never guessed:
- Klarna keeps each order's lines (Order Management API; the settlement row's `order_id` names
  the order): one row per order line, its text the line's article number and name, its VAT the
  line's rate, its amount the line's total, so each rate's total is Klarna's to the öre. A
  company buyer's organisation number comes from the order too. A refund is credited with the
  lines Klarna says came back; without them, spread over the order's rates only when that is
  exact, else the item fails and says why. The orders are read once per booking (the cache).
- Otherwise, and when the gateway gives no lines for the order: the rate of the gateway's row,
  else the rate the customer's account plan names for Plus, else the item fails and says why.

Refunds and chargebacks become credit invoices (IsCreditInvoice, CreditedInvoiceId) of their own.
Basic/Pay: the invoice exists (the webshop integration made it) and is found by the order link's
YourReference; a refund of the whole invoice becomes a credit invoice with its rows reversed.

Every document is searched by its YourReference before it is created, and a lost answer is
followed by that search again: a crash can delay, never duplicate.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from stdnum.se import orgnr

from ledger.accounts import AccountPlan
from ledger.models import LedgerItem, PayoutLine
from ledger.posting_calls import NotBookable, call, exactly_once
from shops.clients.errors import NotFound, OutcomeUnknown, RateLimited, RemoteDown
from shops.clients.registry import client_for
from shops.clients.types import (
    Address,
    ErpInvoice,
    GatewayOrder,
    GatewayOrderLine,
    NewErpArticle,
    NewErpCustomer,
    NewInvoiceDraft,
    NewInvoiceRow,
)
from shops.clients.visma import invoice_draft_body, to_draft
from shops.models import Connection

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RATES = (Decimal(25), Decimal(12), Decimal(6), Decimal(0))
RATE_KEYS = ("vat_rate", "tax_rate", "taxRate", "vatRate", "VatPercent", "vatPercent")
ORGANISATION_KEYS = (
    "organization_number",
    "organisation_number",
    "organizationNumber",
    "company_registration_id",
    "national_identification_number",
    "nationalId",
    "customer_org_number",
)
NAME_KEYS = ("company_name", "companyName", "customer_name", "customerName")
# Visma requires a postal code and city on every customer; gateways give no address for a sale.
NO_ADDRESS = "-"
# Gateways whose client reads an order's lines (`gateway_order(order_id)`), and the key of the
# settlement row that names the gateway's order.
ORDER_LINE_GATEWAYS = {"klarna": "order_id"}


def rate_of(line: PayoutLine, plan: AccountPlan) -> Decimal | None:
    raw = line.raw if isinstance(line.raw, dict) else {}
    for key in RATE_KEYS:
        value = raw.get(key)
        if value not in (None, ""):
            try:
                rate = Decimal(str(value).rstrip("%")).normalize()
            except ArithmeticError:
                continue
            # Klarna states fee rows at 0 %; a sale's 0 % would be export, which we never assume.
            if rate in RATES and rate:
                return Decimal(rate)
    return plan.plus_vat_rate.normalize() if plan.plus_vat_rate else None


def net_price(gross: Decimal, rate: Decimal) -> Decimal:
    """A price excluding VAT whose VAT, as Visma rounds it, adds up to `gross` exactly."""
    first = (gross * 100 / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    for step in (0, 1, -1, 2, -2):
        candidate = first + step * CENT
        vat = (candidate * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        if candidate + vat == gross:
            return candidate
    return first


class PlusInvoices:
    """Customers, generic articles and invoices of one Plus gateway in one booking run."""

    def __init__(
        self,
        erp: Any,
        connection: Connection,
        plan: AccountPlan,
        *,
        gateway: Any = None,
        orders: dict[str, GatewayOrder | None] | None = None,
    ) -> None:
        self.erp, self.connection, self.plan = erp, connection, plan
        self.articles: dict[Decimal, str] = {}
        self.customers: dict[str, str] = {}
        # The gateway's client (made when first needed) and the orders read from it, by the
        # gateway's order id; None: the gateway has no lines for it. A caller booking several
        # payouts may pass one dict to share it.
        self.gateway = gateway
        self.orders: dict[str, GatewayOrder | None] = {} if orders is None else orders
        self.missing: dict[str, str] = {}  # why an order has no lines, for the message

    # --- the gateway's orders ----------------------------------------------------------------

    def order_id(self, lines: list[PayoutLine]) -> str:
        key = ORDER_LINE_GATEWAYS.get(self.connection.platform)
        if not key:
            return ""
        return next(
            (str(ln.raw[key]) for ln in lines if isinstance(ln.raw, dict) and ln.raw.get(key)), ""
        )

    def gateway_order(self, lines: list[PayoutLine]) -> GatewayOrder | None:
        """The gateway's order of these payout lines, when the gateway keeps its lines."""
        order_id = self.order_id(lines)
        if not order_id:
            return None
        if order_id not in self.orders:
            if self.gateway is None:
                self.gateway = client_for(self.connection)
            try:
                order = call(lambda: self.gateway.gateway_order(order_id))
            except NotFound:
                order = None
                self.missing[order_id] = _("%(gateway)s has no order %(id)s.") % {
                    "gateway": self.connection.get_platform_display(),
                    "id": order_id,
                }
            else:
                if not order.lines:
                    self.missing[order_id] = _("%(gateway)s gives no lines for order %(id)s.") % {
                        "gateway": self.connection.get_platform_display(),
                        "id": order_id,
                    }
            self.orders[order_id] = order if order is not None and order.lines else None
        return self.orders[order_id]

    def _line_rate(self, line: GatewayOrderLine, order: str) -> Decimal:
        rate = line.vat_rate.normalize()
        if rate not in RATES or not rate:
            raise NotBookable(
                _(
                    "%(gateway)s gives %(rate)s %% VAT for “%(line)s” of order %(order)s. Plus "
                    "books sales at 25, 12 and 6 %% only (0 %% would be an export, which we never "
                    "assume): book this order by hand in Visma eEkonomi, then mark it handled."
                )
                % {
                    "gateway": self.connection.get_platform_display(),
                    "rate": f"{rate:f}",
                    "line": line.name or line.reference,
                    "order": order,
                }
            )
        return Decimal(rate)

    def _line_row(self, line: GatewayOrderLine, order: str, sign: int) -> NewInvoiceRow:
        rate = self._line_rate(line, order)
        text = " ".join(part for part in (line.reference, line.name) if part) or order
        if line.quantity != 1:
            text = f"{line.quantity.normalize():f} × {text}"
        return NewInvoiceRow(
            article_id=self.article_for(rate),
            text=text[:2000],
            quantity=Decimal(sign),
            unit_price=net_price(line.total_amount, rate),
            discount_percent=ZERO,
            vat_rate=rate,
        )

    def _share_rows(
        self, lines: tuple[GatewayOrderLine, ...], amount: Decimal, order: str, sign: int
    ) -> list[NewInvoiceRow] | None:
        """Rows per VAT rate for `amount`, a part of the order spread over its rates in
        proportion; None when some rate's share is not a whole öre (it would be a guess)."""
        by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            by_rate[self._line_rate(line, order)] += line.total_amount
        total = sum(by_rate.values(), ZERO)
        if not total:
            return None
        shares = {rate: amount * gross / total for rate, gross in by_rate.items()}
        if any(share != share.quantize(CENT) for share in shares.values()):
            return None
        text = _("Part of order %(order)s via %(gateway)s") % {
            "order": order,
            "gateway": self.connection.get_platform_display(),
        }
        return [
            NewInvoiceRow(
                article_id=self.article_for(rate),
                text=f"{text} ({rate:f} %)",
                quantity=Decimal(sign),
                unit_price=net_price(share.quantize(CENT), rate),
                discount_percent=ZERO,
                vat_rate=rate,
            )
            for rate, share in sorted(shares.items(), reverse=True)
            if share
        ]

    def _check_currency(self, gateway_order: GatewayOrder, lines: list[PayoutLine]) -> None:
        currencies = {ln.currency.upper() for ln in lines if ln.currency}
        if currencies and currencies != {gateway_order.currency.upper()}:
            raise NotBookable(
                _(
                    "%(gateway)s's order %(id)s is in %(currency)s, its settlement in "
                    "%(settled)s: the lines cannot be booked as they are."
                )
                % {
                    "gateway": self.connection.get_platform_display(),
                    "id": gateway_order.order_id,
                    "currency": gateway_order.currency,
                    "settled": ", ".join(sorted(currencies)),
                }
            )

    def sale_rows(
        self, gateway_order: GatewayOrder, sales: list[PayoutLine], order: str
    ) -> list[NewInvoiceRow]:
        """The invoice rows of a sale from the gateway's order lines: one row per line when the
        sale is the whole order, else per rate when that is exact."""
        self._check_currency(gateway_order, sales)
        amount = sum((abs(ln.gross) for ln in sales), ZERO)
        lines = gateway_order.lines
        if sum((ln.total_amount for ln in lines), ZERO) == amount:
            return [self._line_row(ln, order, 1) for ln in lines if ln.total_amount]
        rows = self._share_rows(lines, amount, order, 1)
        if rows is None:
            raise NotBookable(
                _(
                    "%(gateway)s settled %(amount)s of order %(order)s, whose lines add up to "
                    "%(total)s, and that part cannot be spread over the order's VAT rates "
                    "exactly. We do not guess: invoice it by hand in Visma eEkonomi, then mark "
                    "it handled."
                )
                % {
                    "gateway": self.connection.get_platform_display(),
                    "amount": amount,
                    "order": order,
                    "total": sum((ln.total_amount for ln in lines), ZERO),
                }
            )
        return rows

    def refund_rows(
        self, gateway_order: GatewayOrder, line: PayoutLine, order: str
    ) -> list[NewInvoiceRow]:
        """The credit rows of a refund or chargeback: the lines the gateway says came back, the
        whole order when all of it came back, else the order's rates in proportion when exact."""
        self._check_currency(gateway_order, [line])
        amount = abs(line.gross)
        raw = line.raw if isinstance(line.raw, dict) else {}
        refund_id = str(raw.get("refund_id") or "")
        refunds = [r for r in gateway_order.refunds if refund_id and r.refund_id == refund_id]
        if not refunds:  # the row names no refund (Klarna's CSV may not): the one of its amount
            refunds = [r for r in gateway_order.refunds if r.amount == amount]
        if len(refunds) == 1 and refunds[0].lines:
            lines = refunds[0].lines
            if sum((ln.total_amount for ln in lines), ZERO) == amount:
                return [self._line_row(ln, order, -1) for ln in lines if ln.total_amount]
        lines = gateway_order.lines
        if sum((ln.total_amount for ln in lines), ZERO) == amount:
            return [self._line_row(ln, order, -1) for ln in lines if ln.total_amount]
        rows = self._share_rows(lines, amount, order, -1)
        if rows is None:
            rates = sorted({self._line_rate(ln, order) for ln in lines}, reverse=True)
            raise NotBookable(
                _(
                    "%(gateway)s does not say which lines of order %(order)s the refund of "
                    "%(amount)s is for, and it cannot be spread over the order's VAT rates "
                    "(%(rates)s %%) exactly. We do not guess: credit it in Visma eEkonomi, then "
                    "mark the line handled."
                )
                % {
                    "gateway": self.connection.get_platform_display(),
                    "order": order,
                    "amount": amount,
                    "rates": ", ".join(f"{r:f}" for r in rates),
                }
            )
        return rows

    # --- customers ---------------------------------------------------------------------------

    def customer_for(
        self, lines: list[PayoutLine], gateway_order: GatewayOrder | None = None
    ) -> tuple[str, bool, Address]:
        """(Visma customer id, is a private person, invoice address)."""
        raw = next((ln.raw for ln in lines if isinstance(ln.raw, dict)), {})
        number_text = next((str(raw[k]) for k in ORGANISATION_KEYS if raw.get(k)), "")
        company_name = next((str(raw[k]) for k in NAME_KEYS if raw.get(k)), "")
        if gateway_order is not None and gateway_order.organisation_number:
            number_text = gateway_order.organisation_number
            company_name = gateway_order.company_name or company_name
        company = orgnr.is_valid(number_text) if number_text else False
        country = (lines[0].country or self.plan.home_country or "SE").upper()
        if company:
            digits = orgnr.compact(number_text)
            number = f"O{digits}"
            name = company_name or _("Company %(number)s") % {"number": orgnr.format(digits)}
        else:
            digits = ""
            number = f"{self.connection.platform[:8].upper()}-{self.connection.pk}"[:16]
            name = _("%(gateway)s private customers") % {
                "gateway": self.connection.get_platform_display()
            }
        address = Address(name[:50], "", "", NO_ADDRESS, NO_ADDRESS, country)
        if number not in self.customers:
            new = NewErpCustomer(
                customer_number=number,
                name=name,
                is_private_person=not company,
                email="",
                phone="",
                organisation_number=orgnr.format(digits) if digits else "",
                vat_number="",
                invoice_address=address,
                delivery_address=None,
                currency=self.plan.accounting_currency,
                terms_of_payment_id=self.erp.default_terms_of_payment_id(),
            )
            found = exactly_once(
                lambda: self.erp.find_customer(number), lambda: self.erp.create_customer(new)
            )
            self.customers[number] = found.id
        return self.customers[number], not company, address

    # --- generic articles --------------------------------------------------------------------

    def article_for(self, rate: Decimal) -> str:
        if rate not in self.articles:
            number = f"{self.plan.plus_article_prefix}-{rate:f}"
            coding = self.erp.coding_for_vat_rate(rate)
            unit_id = next((u.id for u in self.erp.units()), "")
            new = NewErpArticle(
                number=number,
                name=_("Sale via %(gateway)s, %(rate)s %% VAT")
                % {"gateway": self.connection.get_platform_display(), "rate": f"{rate:f}"},
                unit_price=ZERO,
                coding_id=coding.id,
                unit_id=unit_id,
            )
            found = exactly_once(
                lambda: self.erp.find_article(number), lambda: self.erp.create_article(new)
            )
            self.articles[rate] = found.id
        return self.articles[rate]

    # --- invoices ----------------------------------------------------------------------------

    def rows(self, lines: list[PayoutLine], order: str, sign: int) -> list[NewInvoiceRow]:
        """Rows per VAT rate from the payout lines (no order lines from the gateway)."""
        by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            rate = rate_of(line, self.plan)
            if rate is None:
                message = _(
                    "%(gateway)s gives no VAT rate for order %(order)s, and the customer's "
                    "account plan names no Plus VAT rate. We do not guess rates: set the rate "
                    "in the account plan if every sale carries it."
                ) % {"gateway": self.connection.get_platform_display(), "order": order}
                why = self.missing.get(self.order_id(lines), "")
                raise NotBookable(f"{message} {why}" if why else message)
            by_rate[rate] += abs(line.gross)
        text = _("Order %(order)s via %(gateway)s") % {
            "order": order,
            "gateway": self.connection.get_platform_display(),
        }
        return [
            NewInvoiceRow(
                article_id=self.article_for(rate),
                text=f"{text} ({rate:f} %)",
                quantity=Decimal(sign),
                unit_price=net_price(gross, rate),
                discount_percent=ZERO,
                vat_rate=rate,
            )
            for rate, gross in sorted(by_rate.items(), reverse=True)
        ]

    def invoice(self, item: LedgerItem, sales: list[PayoutLine], day: datetime.date) -> ErpInvoice:
        """The order's invoice: found by its YourReference, or made from its sales."""
        if not sales:
            raise NotBookable(
                _("Order %(order)s has no sale from %(gateway)s to invoice.")
                % {"order": item.order_reference, "gateway": self.connection.get_platform_display()}
            )
        gateway_order = self.gateway_order(sales)
        if gateway_order is not None:
            rows = self.sale_rows(gateway_order, sales, item.order_reference)
        else:
            rows = self.rows(sales, item.order_reference, 1)
        customer_id, private, address = self.customer_for(sales, gateway_order)
        draft = NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=item.natural_key,
            customer_is_private_person=private,
            invoice_address=address,
            delivery_address=None,
            invoice_date=day,
            rows=rows,
        )
        return make_invoice(
            self.erp, item.natural_key, lambda: self.erp.create_invoice_draft(draft)
        )

    def credit(
        self, item: LedgerItem, line: PayoutLine, credited: ErpInvoice, key: str
    ) -> ErpInvoice:
        gateway_order = self.gateway_order([line])
        if gateway_order is not None:
            rows = self.refund_rows(gateway_order, line, item.order_reference)
        else:
            rows = self.rows([line], item.order_reference, -1)
        customer_id, private, address = self.customer_for([line], gateway_order)
        draft = NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=key,
            customer_is_private_person=private,
            invoice_address=address,
            delivery_address=None,
            invoice_date=line_day(line),
            rows=rows,
        )
        return make_invoice(self.erp, key, lambda: create_credit_draft(self.erp, draft, credited))


def line_day(line: PayoutLine) -> datetime.date:
    if line.occurred_at:
        return line.occurred_at.astimezone(datetime.UTC).date()
    return line.payout.payout_date


def create_credit_draft(erp: Any, draft: NewInvoiceDraft, credited: ErpInvoice) -> Any:
    # The Visma client's NewInvoiceDraft cannot say "credit invoice" (a gap reported to shops):
    # the body is the client's own, with Visma's two credit fields added.
    body = invoice_draft_body(draft) | {"IsCreditInvoice": True, "CreditedInvoiceId": credited.id}
    return to_draft(erp.request("POST", "/v2/customerinvoicedrafts", json_body=body))


def make_invoice(erp: Any, key: str, create_draft: Any) -> ErpInvoice:
    """Invoice by YourReference `key`: found, or its draft found and converted, or created."""

    def find() -> ErpInvoice | None:
        invoice = erp.find_invoice(key)
        if invoice is not None:
            return invoice
        draft = erp.find_invoice_draft(key)
        # A draft from an earlier attempt: converting it is what remains to do.
        return erp.convert_invoice_draft(draft.id) if draft is not None else None

    def create() -> ErpInvoice:
        draft = create_draft()
        # The draft exists from here on: if converting it fails, the next attempt must find and
        # convert this draft (a search first), never make a second one for the same order.
        try:
            return call(lambda: erp.convert_invoice_draft(draft.id))
        except (RemoteDown, RateLimited) as exc:
            raise OutcomeUnknown(exc.message, exchange=exc.exchange) from exc

    return exactly_once(find, create)


BASIC_ROW_FIELDS = re.compile(r"^(ArticleId|Text|UnitPrice|Quantity|DiscountPercentage)$")


def basic_credit(erp: Any, credited: ErpInvoice, refund: Decimal, key: str) -> ErpInvoice:
    """Basic/Pay: a refund of the whole invoice reverses all its rows. A partial refund cannot
    say which rows came back (the gateway does not know), so a person credits it in Visma."""
    if refund != credited.total_amount:
        raise NotBookable(
            _(
                "A refund of %(refund)s of invoice %(invoice)s (total %(total)s) is partial: the "
                "gateway does not say which rows came back. Credit it in Visma eEkonomi, then mark "
                "the line handled."
            )
            % {"refund": refund, "invoice": credited.invoice_number, "total": credited.total_amount}
        )
    source = erp.request("GET", f"/v2/customerinvoices/{credited.id}") or {}
    rows = [
        {k: v for k, v in row.items() if BASIC_ROW_FIELDS.match(k)}
        | {"LineNumber": n, "IsTextRow": bool(row.get("IsTextRow"))}
        | ({} if row.get("IsTextRow") else {"Quantity": -float(row.get("Quantity") or 0)})
        | {"ReversedConstructionServicesVatFree": False}
        for n, row in enumerate(source.get("Rows") or [], start=1)
    ]
    head_fields = (
        "CustomerId InvoiceCustomerName InvoicePostalCode InvoiceCity InvoiceCountryCode "
        "InvoiceAddress1 InvoiceAddress2 CustomerIsPrivatePerson"
    ).split()
    body = {k: source[k] for k in head_fields if source.get(k) not in (None, "")} | {
        "RotReducedInvoicingType": 0,
        "EuThirdParty": False,
        "YourReference": key,
        "IsCreditInvoice": True,
        "CreditedInvoiceId": credited.id,
        "Rows": rows,
    }
    return make_invoice(
        erp,
        key,
        lambda: to_draft(erp.request("POST", "/v2/customerinvoicedrafts", json_body=body)),
    )
