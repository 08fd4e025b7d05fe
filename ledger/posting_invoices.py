"""The customer invoices a payout needs in Visma eEkonomi, made exactly once.

Plus: one invoice per order, made from what the gateway says about the sale. The customer is a
company found by its organisation number when the gateway gives a valid one (Klarna, Nets and
Svea may; Stripe sometimes; PayPal never), else the gateway's one customer for private buyers.
Gateways name no articles, so every row is the generic article of its VAT rate ("PLUS-25",
"PLUS-12", "PLUS-6"), found or created by its Number. The rate comes from the gateway's row when
it gives one, else from the rate the customer's account plan names for Plus; never guessed.

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
from ledger.posting_calls import NotBookable, exactly_once
from shops.clients.types import (
    Address,
    ErpInvoice,
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

    def __init__(self, erp: Any, connection: Connection, plan: AccountPlan) -> None:
        self.erp, self.connection, self.plan = erp, connection, plan
        self.articles: dict[Decimal, str] = {}
        self.customers: dict[str, str] = {}

    # --- customers ---------------------------------------------------------------------------

    def customer_for(self, lines: list[PayoutLine]) -> tuple[str, bool, Address]:
        """(Visma customer id, is a private person, invoice address)."""
        raw = next((ln.raw for ln in lines if isinstance(ln.raw, dict)), {})
        number_text = next((str(raw[k]) for k in ORGANISATION_KEYS if raw.get(k)), "")
        company = orgnr.is_valid(number_text) if number_text else False
        country = (lines[0].country or self.plan.home_country or "SE").upper()
        if company:
            digits = orgnr.compact(number_text)
            number = f"O{digits}"
            name = next((str(raw[k]) for k in NAME_KEYS if raw.get(k)), "") or _(
                "Company %(number)s"
            ) % {"number": orgnr.format(digits)}
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
        by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            rate = rate_of(line, self.plan)
            if rate is None:
                raise NotBookable(
                    _(
                        "%(gateway)s gives no VAT rate for order %(order)s, and the customer's "
                        "account plan names no Plus VAT rate. We do not guess rates: set the rate "
                        "in the account plan if every sale carries it."
                    )
                    % {"gateway": self.connection.get_platform_display(), "order": order}
                )
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
        customer_id, private, address = self.customer_for(sales)
        draft = NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=item.natural_key,
            customer_is_private_person=private,
            invoice_address=address,
            delivery_address=None,
            invoice_date=day,
            rows=self.rows(sales, item.order_reference, 1),
        )
        return make_invoice(
            self.erp, item.natural_key, lambda: self.erp.create_invoice_draft(draft)
        )

    def credit(
        self, item: LedgerItem, line: PayoutLine, credited: ErpInvoice, key: str
    ) -> ErpInvoice:
        customer_id, private, address = self.customer_for([line])
        draft = NewInvoiceDraft(
            customer_id=customer_id,
            your_reference=key,
            customer_is_private_person=private,
            invoice_address=address,
            delivery_address=None,
            invoice_date=line_day(line),
            rows=self.rows([line], item.order_reference, -1),
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
        return erp.convert_invoice_draft(create_draft().id)

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
