"""Visma eEkonomi (eAccounting API v2).

What the product needs from it: customers, articles (+ their account codings, which carry the VAT
rate), units, terms of payment, VAT codes, fiscal years and locked periods, accounts, bank
accounts, orders (the merchant's order module), customer invoice drafts, invoices and their
payments, vouchers, and webhooks. Bodies and mappings: shops/clients/visma_bodies.py.

Credentials: client_id, client_secret, access_token, refresh_token, expires_at (epoch seconds),
token_url (when absent: the real identity server for the real API root, else
{base_url}/connect/token as the sandbox serves it). The first tokens come from the OAuth2
authorization-code flow (`authorize_url`, `exchange_code`); after that Visma rotates the refresh
token on every refresh and the new one is stored at once, under a row lock (ApiClient.renew_token).

Limits: 600 requests per minute per API client and endpoint (HTTP 429, ErrorCode 4010). The
platform is one API client, so the limiter key is the client id and the endpoint, and all
customers share it fairly (shops.clients.ratelimit).

Webhooks: Visma's are a beta ("not operational", developer.vismaonline.com/docs/webhooks) and
absent from the 2018 swagger; newer API versions have /v2/webhooks (WebHookApi). The methods
below speak that shape, but flows must not depend on a delivery: they poll by ModifiedUtc /
ChangedUtc.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from shops.clients.errors import NotFound, PeriodClosed, ValidationFailed
from shops.clients.types import (
    ErpAccount,
    ErpAccountCoding,
    ErpArticle,
    ErpBankAccount,
    ErpCustomer,
    ErpFiscalYear,
    ErpInvoice,
    ErpInvoiceDraft,
    ErpInvoicePayment,
    ErpOrder,
    ErpTermsOfPayment,
    ErpUnit,
    ErpVatCode,
    ErpVoucher,
    ErpWebhook,
    NewErpArticle,
    NewErpCustomer,
    NewErpOrder,
    NewInvoiceDraft,
    NewVoucher,
)
from shops.clients.visma_api import (  # noqa: F401 (re-exported: the module's public names)
    API_URL,
    IDENTITY_URL,
    SCOPES,
    TOKEN_URL,
    VismaApi,
    authorize_url,
    new_state,
    odata_string,
)
from shops.clients.visma_bodies import (  # noqa: F401 (customer_body, invoice_draft_body: API)
    article_body,
    customer_body,
    invoice_draft_body,
    order_body,
    parse_date,
    payment_body,
    to_account,
    to_article,
    to_bank_account,
    to_coding,
    to_customer,
    to_draft,
    to_fiscal_year,
    to_invoice,
    to_order,
    to_payment,
    to_terms,
    to_unit,
    to_vat_code,
    to_voucher,
    to_webhook,
    voucher_body,
    webhook_body,
)
from shops.clients.visma_sales import VismaSalesResources


class VismaClient(VismaSalesResources, VismaApi):
    """Price lists, cost centres and notes: shops/clients/visma_sales.py."""

    # --- customers and terms -------------------------------------------------------------------

    def find_customer(self, customer_number: str) -> ErpCustomer | None:
        found = self._first("/v2/customers", f"CustomerNumber eq {odata_string(customer_number)}")
        return to_customer(found) if found else None

    def create_customer(self, customer: NewErpCustomer) -> ErpCustomer:
        return to_customer(self.request("POST", "/v2/customers", json_body=customer_body(customer)))

    def terms_of_payment(self) -> list[ErpTermsOfPayment]:
        return [to_terms(t) for t in self.iter_all("/v2/termsofpayments")]

    def default_terms_of_payment_id(self) -> str:
        """The first terms of payment available for sales (remembered for this client's life:
        every new customer needs one)."""
        if not self._terms_of_payment_id:
            found = next((t for t in self.terms_of_payment() if t.available_for_sales), None)
            if found is None:
                raise LookupError("Visma has no terms of payment available for sales.")
            self._terms_of_payment_id = found.id
        return self._terms_of_payment_id

    # --- articles, codings, units, VAT codes ---------------------------------------------------

    def account_codings(self) -> list[ErpAccountCoding]:
        return [to_coding(c) for c in self.iter_all("/v2/articleaccountcodings")]

    def _rates(self) -> dict[str, Decimal]:
        # One read per client life: an article's VAT rate lives on its coding.
        if self._vat_rates is None:
            self._vat_rates = {c.id.lower(): c.vat_rate for c in self.account_codings()}
        return self._vat_rates

    def coding_for_vat_rate(self, rate: Decimal) -> ErpAccountCoding:
        """The active article coding for domestic sales at `rate` percent."""
        for coding in self.account_codings():
            if coding.is_active and coding.vat_rate == Decimal(rate):
                return coding
        raise LookupError(f"Visma has no active article account coding for {rate} % VAT.")

    def units(self) -> list[ErpUnit]:
        return [to_unit(u) for u in self.iter_all("/v2/units")]

    def vat_codes(self) -> list[ErpVatCode]:
        return [to_vat_code(v) for v in self.iter_all("/v2/vatcodes")]

    def find_article(self, number: str) -> ErpArticle | None:
        found = self._first("/v2/articles", f"Number eq {odata_string(number)}")
        return to_article(found, self._rates()) if found else None

    def get_article(self, article_id: str) -> ErpArticle:
        return to_article(self.request("GET", f"/v2/articles/{article_id}"), self._rates())

    def articles(
        self, *, page_size: int = 0, changed_since: datetime.datetime | None = None
    ) -> Iterator[ErpArticle]:
        rates = self._rates()
        wanted = self._changed_since("ChangedUtc", changed_since)
        for row in self.iter_all("/v2/articles", wanted, page_size):
            yield to_article(row, rates)

    def create_article(self, article: NewErpArticle) -> ErpArticle:
        """Create by Number, the natural key: a retry must find_article first."""
        body = self.request("POST", "/v2/articles", json_body=article_body(article))
        return to_article(body, self._rates())

    def update_article(self, article_id: str, article: NewErpArticle) -> ErpArticle:
        """PUT replaces the article: every field of `article` is written."""
        body = self.request("PUT", f"/v2/articles/{article_id}", json_body=article_body(article))
        return to_article(body, self._rates())

    # --- bookkeeping: fiscal years, periods, accounts, bank accounts ---------------------------

    def fiscal_years(self) -> list[ErpFiscalYear]:
        return [to_fiscal_year(y) for y in self.iter_all("/v2/fiscalyears")]

    def company_settings(self) -> dict[str, Any]:
        return self.request("GET", "/v2/companysettings") or {}

    def fiscal_year_for(self, date: datetime.date) -> ErpFiscalYear:
        for year in self.fiscal_years():
            if year.start <= date <= year.end:
                return year
        raise PeriodClosed(
            f"Visma eEkonomi has no fiscal year for {date}: the merchant must create it first.",
            field="date",
        )

    def ensure_period_open(self, date: datetime.date) -> ErpFiscalYear:
        """The fiscal year of `date`, or PeriodClosed when nothing can be booked on it."""
        year = self.fiscal_year_for(date)
        locked_to = self.company_settings().get("AccountingLockedTo")
        if year.is_locked or (locked_to and date <= parse_date(locked_to)):
            raise PeriodClosed(
                f"The accounting period of {date} is locked in Visma eEkonomi"
                + (f" (locked up to {str(locked_to)[:10]})" if locked_to else "")
                + ": the merchant must open it before anything can be booked on that date.",
                field="date",
            )
        return year

    def accounts(self, fiscal_year_id: str = "") -> list[ErpAccount]:
        path = f"/v2/accounts/{fiscal_year_id}" if fiscal_year_id else "/v2/accounts"
        return [to_account(a) for a in self.iter_all(path)]

    def find_account(self, number: int, fiscal_year_id: str) -> ErpAccount | None:
        try:
            found = self.request("GET", f"/v2/accounts/{fiscal_year_id}/{number}")
        except NotFound:
            return None
        return to_account(found) if found else None

    def bank_accounts(self) -> list[ErpBankAccount]:
        return [to_bank_account(b) for b in self.iter_all("/v2/bankaccounts")]

    # --- orders (needs the merchant's order module) --------------------------------------------

    def find_order(self, your_reference: str) -> ErpOrder | None:
        found = self._first("/v2/orders", f"YourReference eq {odata_string(your_reference)}")
        return to_order(found) if found else None

    def get_order(self, order_id: str) -> ErpOrder:
        return to_order(self.request("GET", f"/v2/orders/{order_id}"))

    def orders(self, *, changed_since: datetime.datetime | None = None) -> Iterator[ErpOrder]:
        """Orders (e.g. to send their status back to the shop), oldest change first."""
        wanted = self._changed_since("ModifiedUtc", changed_since)
        for row in self.iter_all("/v2/orders", wanted):
            yield to_order(row)

    def create_order(self, order: NewErpOrder) -> ErpOrder:
        """Raises ModuleMissing when the merchant's company has no order module."""
        return to_order(self.request("POST", "/v2/orders", json_body=order_body(order)))

    def convert_order(self, order_id: str) -> ErpInvoice:
        """Invoice the order. A retry after a lost answer must look for the invoice by its
        YourReference first (find_invoice), as for drafts."""
        return to_invoice(self.request("POST", f"/v2/orders/{order_id}/convert"))

    # --- invoice drafts, invoices, payments ----------------------------------------------------

    def find_invoice_draft(self, your_reference: str) -> ErpInvoiceDraft | None:
        found = self._first(
            "/v2/customerinvoicedrafts", f"YourReference eq {odata_string(your_reference)}"
        )
        return to_draft(found) if found else None

    def create_invoice_draft(self, draft: NewInvoiceDraft) -> ErpInvoiceDraft:
        body = self.request(
            "POST", "/v2/customerinvoicedrafts", json_body=invoice_draft_body(draft)
        )
        return to_draft(body)

    def convert_invoice_draft(self, draft_id: str) -> ErpInvoice:
        # The body (CustomerInvoiceDraftValidationApi) is required but every property optional.
        body = self.request("POST", f"/v2/customerinvoicedrafts/{draft_id}/convert", json_body={})
        return to_invoice(body)

    def find_invoice(self, your_reference: str) -> ErpInvoice | None:
        found = self._first(
            "/v2/customerinvoices", f"YourReference eq {odata_string(your_reference)}"
        )
        return to_invoice(found) if found else None

    def get_invoice(self, invoice_id: str) -> ErpInvoice:
        return to_invoice(self.request("GET", f"/v2/customerinvoices/{invoice_id}"))

    def pay_invoice(
        self,
        invoice_id: str,
        *,
        amount: Decimal,
        payment_date: datetime.date,
        bank_account_id: str,
        currency: str = "SEK",
        reference: str = "",
        bank_fee: Decimal = Decimal("0"),
    ) -> ErpInvoicePayment | None:
        """Book a payment of the invoice in the customer ledger. The invoice is read first: when
        nothing remains to pay (an earlier attempt got through), nothing is sent and None is
        returned. More than what remains is refused: that money belongs somewhere else."""
        invoice = self.get_invoice(invoice_id)
        if invoice.remaining_amount <= 0:
            return None
        if amount > invoice.remaining_amount:
            raise ValidationFailed(
                f"Invoice {invoice.invoice_number} has {invoice.remaining_amount} left to pay, "
                f"less than the {amount} to book.",
                field="PaymentAmount",
            )
        body = payment_body(
            amount=amount,
            remaining=invoice.remaining_amount,
            payment_date=payment_date,
            currency=currency,
            bank_account_id=bank_account_id,
            reference=reference,
            bank_fee=bank_fee,
        )
        answer = self.request("POST", f"/v2/customerinvoices/{invoice_id}/payments", json_body=body)
        return to_payment(invoice_id, answer or body)

    # --- vouchers ------------------------------------------------------------------------------

    def create_voucher(self, voucher: NewVoucher) -> ErpVoucher:
        """Raises PeriodClosed when the date is in a locked period or in no fiscal year."""
        return to_voucher(self.request("POST", "/v2/vouchers", json_body=voucher_body(voucher)))

    def vouchers(
        self, fiscal_year_id: str, on_date: datetime.date | None = None
    ) -> list[ErpVoucher]:
        wanted = f"VoucherDate eq {on_date.isoformat()}" if on_date else ""
        return [to_voucher(v) for v in self.iter_all(f"/v2/vouchers/{fiscal_year_id}", wanted)]

    def find_voucher(self, text_prefix: str, on_date: datetime.date) -> ErpVoucher | None:
        """The voucher booked on `on_date` whose text starts with `text_prefix` (the payout
        reference): how a retry finds what an earlier attempt may have created."""
        year = self.fiscal_year_for(on_date)
        return next(
            (v for v in self.vouchers(year.id, on_date) if v.text.startswith(text_prefix)), None
        )

    # --- webhooks (beta at Visma: see the module docstring) ------------------------------------

    def webhooks(self) -> list[ErpWebhook]:
        return [to_webhook(w) for w in self.iter_all("/v2/webhooks")]

    def create_webhook(
        self, endpoint: str, subscription_types: list[int], description: str = ""
    ) -> ErpWebhook:
        body = webhook_body(endpoint, subscription_types, description)
        return to_webhook(self.request("POST", "/v2/webhooks", json_body=body))

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"/v2/webhooks/{webhook_id}")

    # --- credit invoices settled in the customer ledger (ledger: refunds paid back) -----------

    def settle_credit_invoice(
        self,
        invoice_id: str,
        *,
        payment_date: datetime.date,
        bank_account_id: str,
        currency: str = "SEK",
        reference: str = "",
        domestic_rate: Decimal | None = None,
    ) -> ErpInvoicePayment | None:
        """Close a credit invoice in the customer ledger: the money went back to the buyer from
        `bank_account_id`. Visma takes it on the invoice's payments endpoint as a payment of the
        credit's (negative) remaining amount, PaymentType complete ("Invoice Payments" FAQ,
        scenario 2: domestic credit invoice, full payment); its voucher is then Dr receivables /
        Cr the bank account. A credit in another currency paid from an account in the company's
        currency says what it was worth there at `domestic_rate` (DomesticPaymentAmount). The
        invoice is read first: None when nothing is left to settle (an earlier attempt got
        through), so a retry never settles twice."""
        # Imported here so this block stays additive to the module (others edit its imports).
        from shops.clients.visma_bodies import PAYMENT_COMPLETE, cut, money

        invoice = self.get_invoice(invoice_id)
        if invoice.remaining_amount >= 0:
            return None
        body: dict[str, Any] = {
            "CompanyBankAccountId": bank_account_id,
            "PaymentDate": payment_date.isoformat(),
            "PaymentAmount": money(invoice.remaining_amount),
            "PaymentCurrency": cut(currency, 3).upper(),
            "PaymentType": PAYMENT_COMPLETE,
        }
        if reference:
            body["Reference"] = cut(reference, 100)
        if domestic_rate:
            body["DomesticPaymentAmount"] = money(invoice.remaining_amount * domestic_rate)
        answer = self.request("POST", f"/v2/customerinvoices/{invoice_id}/payments", json_body=body)
        return to_payment(invoice_id, answer or body)
