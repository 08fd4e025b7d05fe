"""The Visma documents Plus and Basic/Pay bookings share: invoices and credit invoices found by
their YourReference before they are made, the generic articles their rows are booked on, and
the price excluding VAT that makes Visma's VAT add up to what the buyer paid."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.posting_calls import call, exactly_once
from shops.clients.errors import OutcomeUnknown, RateLimited, RemoteDown
from shops.clients.types import ErpInvoice, NewErpArticle, NewInvoiceDraft
from shops.clients.visma import invoice_draft_body, to_draft

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def net_price(gross: Decimal, rate: Decimal) -> Decimal:
    """A price excluding VAT whose VAT, as Visma rounds it, adds up to `gross` exactly."""
    first = (gross * 100 / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    for step in (0, 1, -1, 2, -2):
        candidate = first + step * CENT
        vat = (candidate * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        if candidate + vat == gross:
            return candidate
    return first


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


def find_or_create_article(erp: Any, number: str, name: str, rate: Decimal) -> str:
    """The id of the article `number`, created (coded for domestic sales at `rate`) if missing."""
    coding = erp.coding_for_vat_rate(rate)
    unit_id = next((u.id for u in erp.units()), "")
    new = NewErpArticle(
        number=number, name=name, unit_price=ZERO, coding_id=coding.id, unit_id=unit_id
    )
    return exactly_once(lambda: erp.find_article(number), lambda: erp.create_article(new)).id
