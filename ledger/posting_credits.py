"""Basic/Pay refunds: the credit invoice of a refund against the invoice the webshop made.

The gateway says how much went back, never which rows, so the credit is built the way an
accountant would:

1. the refund is the whole invoice: every row reversed;
2. the refund is exactly some of the invoice's rows (a returned item, the shipping), or some
   units of one row: those rows, reversed;
3. otherwise: one row per VAT rate of the invoice, the refund split in proportion to what the
   invoice holds at each rate (to the öre, the last öre on the largest rate), on the account
   plan's refund article of that rate ("RETUR-25", found or created by its Number, coded for
   domestic sales at the rate, so the credit reduces sales at the rate the sale was made).
   Visma eEkonomi books an invoice row only through an article (a text row carries no amount,
   and a row names no ledger account), hence the article.

Each refund is its own credit invoice with its own YourReference (one per payout line), found
before it is created. All credits of an invoice together never exceed it: the caller names the
credits of its earlier refunds, a row they took back is not returned again, and a refund beyond
what remains is refused with the figures.
The credit's total is the refund to the öre before anything is written, or nothing is written.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from ledger.accounts import AccountPlan
from ledger.posting_calls import NotBookable, call
from ledger.posting_documents import find_or_create_article, make_invoice, net_price
from shops.clients.types import ErpInvoice
from shops.clients.visma import to_draft

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ROW_FIELDS = ("ArticleId", "Text", "UnitPrice", "Quantity", "DiscountPercentage")
HEAD_FIELDS = (
    "CustomerId InvoiceCustomerName InvoicePostalCode InvoiceCity InvoiceCountryCode "
    "InvoiceAddress1 InvoiceAddress2 CustomerIsPrivatePerson"
).split()
# Subsets of rows tried for a refund of some of them: 2^16 sums at most, well under a second.
MAX_ROWS_FOR_SUBSETS = 16


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Row:
    """One row of the credited invoice, with what the buyer paid for it as Visma computes it."""

    def __init__(self, raw: dict[str, Any], rate: Decimal, credited: Decimal = ZERO) -> None:
        self.raw, self.rate = raw, rate
        # What earlier credits of the invoice took back of this row is no longer there to return.
        self.quantity = Decimal(str(raw.get("Quantity") or 0)) - credited
        self.unit_price = Decimal(str(raw.get("UnitPrice") or 0))
        self.discount = Decimal(str(raw.get("DiscountPercentage") or 0))
        self.gross = self.gross_of(self.quantity)

    @property
    def key(self) -> tuple[str, Decimal]:
        return str(self.raw.get("ArticleId") or ""), self.unit_price

    def gross_of(self, quantity: Decimal) -> Decimal:
        net = _money(quantity * self.unit_price * (1 - self.discount))
        return net + _money(net * self.rate / 100)

    def reversed(self, quantity: Decimal | None = None) -> dict[str, Any]:
        body = {k: self.raw[k] for k in ROW_FIELDS if self.raw.get(k) is not None}
        body["Quantity"] = -float(self.quantity if quantity is None else quantity)
        return body


class BasicCredits:
    """Credit invoices for the Basic/Pay refunds of one booking run."""

    def __init__(self, erp: Any, plan: AccountPlan) -> None:
        self.erp, self.plan = erp, plan
        self.rates: dict[str, Decimal] = {}  # article id → VAT rate
        self.articles: dict[Decimal, str] = {}  # VAT rate → refund article id

    def credit(
        self,
        credited: ErpInvoice,
        refund: Decimal,
        key: str,
        *,
        order: str,
        earlier: list[str],
    ) -> ErpInvoice:
        """The credit invoice of a refund of `refund` of `credited`; `earlier` are the ids of
        the credit invoices its earlier refunds made."""
        found = call(lambda: self.erp.find_invoice(key))
        if found is not None:  # made by an earlier attempt: nothing to decide again
            return found
        credited_before, taken = ZERO, defaultdict(lambda: ZERO)
        for credit_id in earlier:
            document = self._document(credit_id)
            # In the invoice's currency, as the refund is: TotalAmount would be SEK.
            credited_before -= Decimal(str(document.get("TotalAmountInvoiceCurrency") or 0))
            for row in document.get("Rows") or []:
                if not row.get("IsTextRow"):
                    taken[_Row(row, ZERO).key] -= Decimal(str(row.get("Quantity") or 0))
        left = credited.total_amount - credited_before
        if refund <= 0 or refund > left:
            raise NotBookable(
                _(
                    "A refund of %(refund)s of invoice %(invoice)s (total %(total)s, %(before)s "
                    "credited before) is more than what remains to credit (%(left)s). Credit it "
                    "in Visma eEkonomi, then mark the line handled."
                )
                % {
                    "refund": refund,
                    "invoice": credited.invoice_number,
                    "total": credited.total_amount,
                    "before": credited_before,
                    "left": left,
                }
            )
        source = self._document(credited.id)
        original = [
            _Row(r, self._rate(r)) for r in source.get("Rows") or [] if not r.get("IsTextRow")
        ]
        rows = []  # what is left to return of each row
        for row in original:
            gone = min(row.quantity, taken[row.key])
            taken[row.key] -= gone
            if row.quantity - gone > 0:
                rows.append(_Row(row.raw, row.rate, gone))
        body_rows = self._returned_rows(rows, refund) or self._proportional_rows(
            original, refund, order, credited
        )
        body = {k: source[k] for k in HEAD_FIELDS if source.get(k) not in (None, "")} | {
            "RotReducedInvoicingType": 0,
            "EuThirdParty": False,
            "YourReference": key,
            "IsCreditInvoice": True,
            "CreditedInvoiceId": credited.id,
            "Rows": [
                row
                | {
                    "LineNumber": n,
                    "IsTextRow": False,
                    "ReversedConstructionServicesVatFree": False,
                }
                for n, row in enumerate(body_rows, start=1)
            ],
        }
        return make_invoice(
            self.erp,
            key,
            lambda: to_draft(self.erp.request("POST", "/v2/customerinvoicedrafts", json_body=body)),
        )

    def _document(self, invoice_id: str) -> dict[str, Any]:
        return call(lambda: self.erp.request("GET", f"/v2/customerinvoices/{invoice_id}")) or {}

    # --- which rows --------------------------------------------------------------------------

    def _returned_rows(self, rows: list[_Row], refund: Decimal) -> list[dict[str, Any]] | None:
        """The rows (or units of one row) the refund is exactly; None when there are none."""
        if sum((r.gross for r in rows), ZERO) == refund:
            return [r.reversed() for r in rows]
        if len(rows) <= MAX_ROWS_FOR_SUBSETS:
            for size in range(1, len(rows)):
                for subset in itertools.combinations(rows, size):
                    if sum((r.gross for r in subset), ZERO) == refund:
                        return [r.reversed() for r in subset]
        for row in rows:
            units = Decimal(1)
            while units < row.quantity:
                if row.gross_of(units) == refund:
                    return [row.reversed(units)]
                units += 1
        return None

    def _proportional_rows(
        self, rows: list[_Row], refund: Decimal, order: str, credited: ErpInvoice
    ) -> list[dict[str, Any]]:
        by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for row in rows:
            by_rate[row.rate] += row.gross
        total = sum(by_rate.values(), ZERO)
        if not total:
            raise NotBookable(
                _("Invoice %(invoice)s has no rows with an amount to credit.")
                % {"invoice": credited.invoice_number}
            )
        shares = {rate: _money(refund * gross / total) for rate, gross in by_rate.items()}
        largest = max(by_rate, key=lambda rate: (by_rate[rate], rate))
        shares[largest] += refund - sum(shares.values(), ZERO)
        result = []
        for rate, share in sorted(shares.items(), reverse=True):
            if not share:
                continue
            price = net_price(share, rate)
            if price + _money(price * rate / 100) != share:
                raise NotBookable(
                    _(
                        "The refund's share of %(share)s at %(rate)s %% VAT cannot be written as "
                        "a price excluding VAT whose VAT adds up to it exactly. Credit it in Visma "
                        "eEkonomi, then mark the line handled."
                    )
                    % {"share": share, "rate": f"{rate:f}"}
                )
            result.append(
                {
                    "ArticleId": self._refund_article(rate),
                    "Text": f"Återbetalning order {order} ({rate:f} % moms)"[:2000],
                    "UnitPrice": float(price),
                    "Quantity": -1.0,
                    "DiscountPercentage": 0.0,
                }
            )
        return result

    # --- articles and their rates ------------------------------------------------------------

    def _rate(self, row: dict[str, Any]) -> Decimal:
        article_id = str(row.get("ArticleId") or "")
        if article_id not in self.rates:
            article = call(lambda: self.erp.get_article(article_id))
            if article.vat_rate is None:
                raise NotBookable(
                    _(
                        "Visma eEkonomi does not say the VAT rate of article %(article)s on the "
                        "credited invoice. We do not guess rates: credit it in Visma eEkonomi."
                    )
                    % {"article": article.number or article_id}
                )
            self.rates[article_id] = Decimal(article.vat_rate).normalize()
        return self.rates[article_id]

    def _refund_article(self, rate: Decimal) -> str:
        if rate not in self.articles:
            number = f"{self.plan.refund_article_prefix}-{rate:f}"
            name = _("Refund, %(rate)s %% VAT") % {"rate": f"{rate:f}"}
            self.articles[rate] = find_or_create_article(self.erp, number, name, rate)
        return self.articles[rate]
