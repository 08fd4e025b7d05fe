"""What the Visma client sends and what it makes of the answers.

Bodies follow specs/visma-eaccounting-v2.swagger.json (CustomerApi, ArticleApi,
CustomerInvoiceDraftApi + rows, OrderApi + rows, InvoicePaymentApi, VoucherApi + rows), with their
required fields and maximum lengths; the tests validate every body against that swagger. Free
text is cut to its maximum length; natural keys (CustomerNumber, article Number, YourReference)
never are, because a cut key would no longer find what it created: they raise ValueError.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.clients.types import (
    Address,
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
    NewInvoiceRow,
    NewVoucher,
)

CUSTOMER_NUMBER_MAX = 16
ARTICLE_NUMBER_MAX = 40
# The draft allows 100 characters, but the invoice (and the order) it turns into only 50.
YOUR_REFERENCE_MAX = 50
VOUCHER_TEXT_MAX = 100
TWO = Decimal("0.01")
FOUR = Decimal("0.0001")
ORDER_STATUSES = {1: "Draft", 2: "Ongoing", 3: "Shipped", 4: "Invoiced"}
ORDER_ONGOING = 2
PAYMENT_PARTIAL, PAYMENT_COMPLETE = 1, 2


def money(value: Decimal) -> float:
    """A JSON number with at most two decimals. The float of a two-decimal Decimal prints back
    as exactly those digits, so nothing is lost on the way."""
    return float(Decimal(value).quantize(TWO, ROUND_HALF_UP))


def cut(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(TWO)


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def parse_date(value: Any) -> datetime.date:
    return datetime.date.fromisoformat(str(value)[:10])


def parse_time(value: Any) -> datetime.datetime | None:
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    # Visma's *Utc fields are UTC, with or without the offset.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _key(value: str, name: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"{name} must be 1–{limit} characters, got {value!r}.")
    return value


# --- bodies --------------------------------------------------------------------------------------


def customer_body(customer: NewErpCustomer) -> dict[str, Any]:
    _key(customer.customer_number, "Customer number", CUSTOMER_NUMBER_MAX)
    address = customer.invoice_address
    body: dict[str, Any] = {
        "CustomerNumber": customer.customer_number,
        "Name": cut(customer.name or address.name, 50),
        "IsPrivatePerson": customer.is_private_person,
        "IsActive": True,
        "TermsOfPaymentId": customer.terms_of_payment_id,
        # Required ones go out even when empty, so Visma names the missing field.
        "InvoiceCity": cut(address.city, 50),
        "InvoicePostalCode": cut(address.postal_code, 10),
    }
    optional = {
        "InvoiceAddress1": cut(address.line1, 50),
        "InvoiceAddress2": cut(address.line2, 50),
        "InvoiceCountryCode": cut(address.country_code, 2).upper(),
        "EmailAddress": cut(customer.email, 255),
        "Telephone": cut(customer.phone, 50),
        "CurrencyCode": cut(customer.currency, 3).upper(),
        "VatNumber": cut(customer.vat_number, 20),
    }
    if not customer.is_private_person:
        optional["CorporateIdentityNumber"] = cut(customer.organisation_number, 20)
    optional.update(_delivery(customer.delivery_address, address, name_max=100))
    body.update({k: v for k, v in optional.items() if v})
    return body


def _sales_document(
    *,
    customer_id: str,
    your_reference: str,
    private: bool,
    address: Address,
    delivery: Address | None,
) -> dict[str, Any]:
    """The head that drafts and orders share."""
    _key(your_reference, "YourReference", YOUR_REFERENCE_MAX)
    body: dict[str, Any] = {
        "CustomerId": customer_id,
        "RotReducedInvoicingType": 0,
        "EuThirdParty": False,
        "CustomerIsPrivatePerson": private,
        "YourReference": your_reference,
        "InvoiceCustomerName": cut(address.name, 50),
        "InvoicePostalCode": cut(address.postal_code, 10),
        "InvoiceCity": cut(address.city, 50),
        "InvoiceCountryCode": cut(address.country_code, 2).upper(),
    }
    optional = {
        "InvoiceAddress1": cut(address.line1, 50),
        "InvoiceAddress2": cut(address.line2, 50),
    }
    optional.update(_delivery(delivery, address, name_max=50))
    body.update({k: v for k, v in optional.items() if v})
    return body


def invoice_draft_body(draft: NewInvoiceDraft) -> dict[str, Any]:
    body = _sales_document(
        customer_id=draft.customer_id,
        your_reference=draft.your_reference,
        private=draft.customer_is_private_person,
        address=draft.invoice_address,
        delivery=draft.delivery_address,
    )
    body["InvoiceDate"] = draft.invoice_date.isoformat()
    body["Rows"] = [_draft_row(n, row) for n, row in enumerate(draft.rows, start=1)]
    return body


def order_body(order: NewErpOrder) -> dict[str, Any]:
    body = _sales_document(
        customer_id=order.customer_id,
        your_reference=order.your_reference,
        private=order.customer_is_private_person,
        address=order.invoice_address,
        delivery=order.delivery_address,
    )
    net = sum((_row_net(row) for row in order.rows if row.article_id), Decimal("0"))
    vat = sum(
        (_row_net(row) * (row.vat_rate or 0) / 100 for row in order.rows if row.article_id),
        Decimal("0"),
    )
    body.update(
        {
            # Required by the swagger; Visma recalculates them from the rows' articles.
            "Amount": money(net),
            "VatAmount": money(vat),
            "RoundingsAmount": 0.0,
            "CurrencyCode": cut(order.currency, 3).upper() or "SEK",
            "OrderDate": order.order_date.isoformat(),
            "Status": ORDER_ONGOING,
            "ReverseChargeOnConstructionServices": False,
            "Rows": [_order_row(n, row) for n, row in enumerate(order.rows, start=1)],
        }
    )
    return body


def article_body(article: NewErpArticle) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Number": _key(article.number, "Article number", ARTICLE_NUMBER_MAX),
        "Name": cut(article.name, 50),
        "IsActive": article.is_active,
        "CodingId": article.coding_id,
        "UnitId": article.unit_id,
        "NetPrice": money(article.unit_price),
        # Articles we create are for the integration, not for Visma's own webshop module.
        "SendToWebshop": False,
    }
    if article.name_english:
        body["NameEnglish"] = cut(article.name_english, 50)
    if article.purchase_price is not None:
        body["PurchasePrice"] = money(article.purchase_price)
    if article.stock_balance is not None:
        body["StockBalance"] = money(article.stock_balance)
    return body


def payment_body(
    *,
    amount: Decimal,
    remaining: Decimal,
    payment_date: datetime.date,
    currency: str,
    bank_account_id: str,
    reference: str,
    bank_fee: Decimal,
) -> dict[str, Any]:
    if amount <= 0:
        raise ValueError("A payment amount must be positive.")
    body: dict[str, Any] = {
        "CompanyBankAccountId": bank_account_id,
        "PaymentDate": payment_date.isoformat(),
        "PaymentAmount": money(amount),
        "PaymentCurrency": cut(currency, 3).upper(),
        # Complete when it settles what is left: Visma then closes the ledger item.
        "PaymentType": PAYMENT_COMPLETE if amount >= remaining else PAYMENT_PARTIAL,
    }
    if reference:
        body["Reference"] = cut(reference, 100)
    if bank_fee:
        body["BankFeeAmount"] = money(bank_fee)
    return body


def voucher_body(voucher: NewVoucher) -> dict[str, Any]:
    text = _key(voucher.text, "VoucherText", VOUCHER_TEXT_MAX)
    if len(voucher.rows) < 2:
        raise ValueError("A voucher needs at least two rows.")
    rows = []
    for row in voucher.rows:
        if row.debit < 0 or row.credit < 0 or (row.debit and row.credit):
            raise ValueError(f"Account {row.account_number}: debit or credit, never negative.")
        item: dict[str, Any] = {
            "AccountNumber": row.account_number,
            "DebitAmount": money(row.debit),
            "CreditAmount": money(row.credit),
        }
        if row.text:
            item["TransactionText"] = cut(row.text, 50)
        if row.vat_code_id:
            item["VatCodeId"] = row.vat_code_id
        rows.append(item)
    debit = sum((Decimal(str(r["DebitAmount"])) for r in rows), Decimal("0"))
    credit = sum((Decimal(str(r["CreditAmount"])) for r in rows), Decimal("0"))
    if debit != credit:
        # Caught here, with the numbers, rather than as Visma's terser rejection.
        raise ValueError(f"The voucher does not balance: debit {debit}, credit {credit}.")
    return {"VoucherDate": voucher.date.isoformat(), "VoucherText": text, "Rows": rows}


def webhook_body(endpoint: str, subscription_types: list[int], description: str) -> dict:
    """WebHookApi of the newer API (absent from the 2018 swagger)."""
    return {
        "Endpoint": endpoint,
        "Description": cut(description, 100),
        "Active": True,
        "Subscriptions": [{"SubscriptionType": kind} for kind in subscription_types],
    }


def _delivery(delivery: Address | None, invoice: Address, *, name_max: int) -> dict[str, str]:
    # Visma only wants a delivery address when it differs from the invoice address.
    if delivery is None or delivery == invoice:
        return {}
    return {
        "DeliveryCustomerName": cut(delivery.name, name_max),
        "DeliveryAddress1": cut(delivery.line1, 50),
        "DeliveryAddress2": cut(delivery.line2, 50),
        "DeliveryPostalCode": cut(delivery.postal_code, 10),
        "DeliveryCity": cut(delivery.city, 50),
        "DeliveryCountryCode": cut(delivery.country_code, 2).upper(),
    }


def _discount_fraction(row: NewInvoiceRow) -> float:
    # Visma wants a fraction 0–1 with four decimals; ours is a percentage.
    return float((Decimal(row.discount_percent) / 100).quantize(FOUR, ROUND_HALF_UP))


def _row_net(row: NewInvoiceRow) -> Decimal:
    return (row.quantity * row.unit_price * (1 - Decimal(row.discount_percent) / 100)).quantize(
        TWO, ROUND_HALF_UP
    )


def _cost_centre(row: NewInvoiceRow) -> dict[str, str]:
    # Cost centre 1's item (the routed shop or channel); text rows carry no amounts to book.
    return {"CostCenterItemId1": row.cost_centre_id} if row.cost_centre_id else {}


def _draft_row(number: int, row: NewInvoiceRow) -> dict[str, Any]:
    if row.article_id is None:
        # A text row carries text only; Visma ignores prices on it.
        return {
            "LineNumber": number,
            "IsTextRow": True,
            "Text": cut(row.text, 2000),
            "ReversedConstructionServicesVatFree": False,
        }
    return {
        "LineNumber": number,
        "ArticleId": row.article_id,
        "IsTextRow": False,
        "Text": cut(row.text, 2000),
        "UnitPrice": money(row.unit_price),
        "Quantity": money(row.quantity),
        "DiscountPercentage": _discount_fraction(row),
        "ReversedConstructionServicesVatFree": False,
        **_cost_centre(row),
    }


def _order_row(number: int, row: NewInvoiceRow) -> dict[str, Any]:
    base: dict[str, Any] = {
        "LineNumber": number,
        "IsTextRow": row.article_id is None,
        "Text": cut(row.text, 2000),
        "IsWorkCost": False,
        "EligibleForReverseChargeOnVat": False,
    }
    if row.article_id is None:
        return base
    return base | {
        "ArticleId": row.article_id,
        "UnitPrice": money(row.unit_price),
        "Quantity": money(row.quantity),
        "DeliveredQuantity": 0.0,
        "DiscountPercentage": _discount_fraction(row),
        **_cost_centre(row),
    }


# --- answers ---------------------------------------------------------------------------------


def to_customer(data: dict) -> ErpCustomer:
    return ErpCustomer(
        id=str(data["Id"]),
        customer_number=str(data.get("CustomerNumber") or ""),
        name=data.get("Name") or "",
    )


def to_article(data: dict, vat_rates: dict[str, Decimal] | None = None) -> ErpArticle:
    coding_id = str(data.get("CodingId") or "")
    return ErpArticle(
        id=str(data["Id"]),
        number=str(data.get("Number") or ""),
        name=data.get("Name") or "",
        unit_price=decimal(data.get("NetPrice")),
        is_active=bool(data.get("IsActive", True)),
        vat_rate=(vat_rates or {}).get(coding_id.lower()),
        coding_id=coding_id,
        unit_id=str(data.get("UnitId") or ""),
        stock_balance=_optional_decimal(data.get("StockBalance")),
        stock_available=_optional_decimal(data.get("StockBalanceAvailable")),
        changed_at=parse_time(data.get("ChangedUtc")),
    )


def to_coding(data: dict) -> ErpAccountCoding:
    account = data.get("DomesticSalesSubjectToVatAccountNumber")
    return ErpAccountCoding(
        id=str(data["Id"]),
        name=data.get("Name") or "",
        vat_rate=Decimal(str(data.get("VatRatePercent") or 0)),
        sales_account=int(account) if account else None,
        is_active=bool(data.get("IsActive", True)),
    )


def to_unit(data: dict) -> ErpUnit:
    return ErpUnit(
        id=str(data["Id"]),
        name=data.get("Name") or "",
        code=data.get("Code") or "",
        abbreviation=data.get("Abbreviation") or "",
    )


def to_terms(data: dict) -> ErpTermsOfPayment:
    return ErpTermsOfPayment(
        id=str(data["Id"]),
        name=data.get("Name") or "",
        days=int(data.get("NumberOfDays") or 0),
        available_for_sales=bool(data.get("AvailableForSales", True)),
    )


def to_vat_code(data: dict) -> ErpVatCode:
    rate = Decimal(str(data.get("VatRate") or 0))
    return ErpVatCode(
        id=str(data["Id"]),
        code=str(data.get("Code") or ""),
        description=data.get("Description") or "",
        # Visma gives a fraction (0.25); we speak percent everywhere.
        vat_rate=(rate * 100 if rate <= 1 else rate).quantize(TWO),
    )


def to_fiscal_year(data: dict) -> ErpFiscalYear:
    return ErpFiscalYear(
        id=str(data["Id"]),
        start=parse_date(data["StartDate"]),
        end=parse_date(data["EndDate"]),
        is_locked=bool(data.get("IsLockedForAccounting")),
    )


def to_account(data: dict) -> ErpAccount:
    return ErpAccount(
        number=int(data["Number"]),
        name=data.get("Name") or "",
        fiscal_year_id=str(data.get("FiscalYearId") or ""),
        is_active=bool(data.get("IsActive", True)),
        vat_code_id=str(data.get("VatCodeId") or ""),
    )


def to_bank_account(data: dict) -> ErpBankAccount:
    return ErpBankAccount(
        id=str(data["Id"]),
        name=data.get("Name") or "",
        ledger_account_number=int(data.get("LedgerAccountNumber") or 0),
        kind=int(data.get("BankAccountType") or 0),
        is_active=bool(data.get("IsActive", True)),
        is_default=bool(data.get("IsDefaultChequeAccount")),
    )


def to_draft(data: dict) -> ErpInvoiceDraft:
    return ErpInvoiceDraft(
        id=str(data["Id"]),
        your_reference=data.get("YourReference") or "",
        customer_id=str(data.get("CustomerId") or ""),
        total_amount=decimal(data.get("TotalAmount")),
    )


def to_invoice(data: dict) -> ErpInvoice:
    # TotalAmount, RemainingAmount and TotalVatAmount are in the company's currency;
    # the *InvoiceCurrency ones in the invoice's CurrencyCode (CustomerInvoiceApi).
    return ErpInvoice(
        id=str(data["Id"]),
        invoice_number=str(data.get("InvoiceNumber") or ""),
        your_reference=data.get("YourReference") or "",
        customer_id=str(data.get("CustomerId") or ""),
        total_amount=decimal(data.get("TotalAmountInvoiceCurrency")),
        remaining_amount=decimal(data.get("RemainingAmountInvoiceCurrency")),
        vat_amount=decimal(data.get("TotalVatAmountInvoiceCurrency")),
        currency=str(data.get("CurrencyCode") or "SEK").upper(),
        currency_rate=Decimal(str(data.get("CurrencyRate") or 1)),
        home_total_amount=decimal(data.get("TotalAmount")),
        home_remaining_amount=decimal(data.get("RemainingAmount")),
        home_vat_amount=decimal(data.get("TotalVatAmount")),
    )


def to_order(data: dict) -> ErpOrder:
    status = int(data.get("Status") or 0)
    return ErpOrder(
        id=str(data["Id"]),
        number=str(data.get("Number") or ""),
        your_reference=data.get("YourReference") or "",
        customer_id=str(data.get("CustomerId") or ""),
        status=ORDER_STATUSES.get(status, str(status)),
        amount=decimal(data.get("Amount")),
        vat_amount=decimal(data.get("VatAmount")),
        shipped_at=parse_time(data.get("ShippedDateTime")),
        modified_at=parse_time(data.get("ModifiedUtc")),
        delivery_method=str(data.get("DeliveryMethodName") or ""),
    )


def to_payment(invoice_id: str, data: dict) -> ErpInvoicePayment:
    return ErpInvoicePayment(
        invoice_id=invoice_id,
        amount=decimal(data.get("PaymentAmount")),
        payment_date=parse_date(data["PaymentDate"]),
        currency=str(data.get("PaymentCurrency") or ""),
        reference=data.get("Reference") or "",
        bank_account_id=str(data.get("CompanyBankAccountId") or ""),
    )


def to_voucher(data: dict) -> ErpVoucher:
    return ErpVoucher(
        id=str(data["Id"]),
        number=str(data.get("NumberAndNumberSeries") or ""),
        date=parse_date(data["VoucherDate"]),
        text=data.get("VoucherText") or "",
        total_debit=sum(
            (decimal(row.get("DebitAmount")) for row in data.get("Rows") or []), Decimal("0")
        ),
    )


def to_webhook(data: dict) -> ErpWebhook:
    return ErpWebhook(
        id=str(data["Id"]),
        endpoint=data.get("Endpoint") or "",
        description=data.get("Description") or "",
        active=bool(data.get("Active", True)),
        subscriptions=[int(s["SubscriptionType"]) for s in data.get("Subscriptions") or []],
    )
