"""The writes the Visma sandbox serves: customers, articles, invoice drafts and their conversion,
orders (only with the order module) and their conversion, invoice payments, vouchers, webhooks.

Each handler validates like Visma (required fields, maximum lengths, references that must exist,
locked periods), changes the company, and counts the call under its natural key so a test can
prove exactly-once. Prices on rows are excluding VAT; VAT comes from the article's coding.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.sandbox import demo_data
from shops.sandbox.state import Response, SandboxState, now_utc
from shops.sandbox.visma_schema import (
    ARTICLE_MAX,
    ARTICLE_REQUIRED,
    CANNOT_BE_CREATED_OR_UPDATED,
    CONFLICT,
    CUSTOMER_MAX,
    CUSTOMER_REQUIRED,
    DATA_MODEL_VALIDATION,
    DRAFT_MAX,
    DRAFT_REQUIRED,
    DRAFT_ROW_REQUIRED,
    FISCAL_YEAR_DOES_NOT_EXIST,
    ORDER_MAX,
    ORDER_REQUIRED,
    ORDER_ROW_REQUIRED,
    PAYMENT_MAX,
    PAYMENT_REQUIRED,
    ROW_MAX,
    VOUCHER_MAX,
    VOUCHER_REQUIRED,
    VOUCHER_ROW_MAX,
    WEBHOOK_REQUIRED,
    check_fields,
    error,
    not_found,
    validation_error,
)
from shops.sandbox.visma_store import Company

TWO = Decimal("0.01")
# What a converted invoice takes over from its draft or order.
COPIED_TO_INVOICE = tuple(
    """CustomerId Rows YourReference OurReference InvoiceCustomerName InvoiceAddress1
    InvoiceAddress2 InvoicePostalCode InvoiceCity InvoiceCountryCode DeliveryCustomerName
    DeliveryAddress1 DeliveryAddress2 DeliveryPostalCode DeliveryCity DeliveryCountryCode
    CustomerIsPrivatePerson EuThirdParty RotReducedInvoicingType IsCreditInvoice CustomerNumber
    IncludesVat""".split()
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(TWO, ROUND_HALF_UP)


def _date(value: Any, field: str) -> tuple[datetime.date | None, list[tuple[str, str]]]:
    try:
        return datetime.date.fromisoformat(str(value)[:10]), []
    except ValueError:
        return None, [(field, f"The field {field} must be a date (yyyy-mm-dd).")]


def _period_problem(company: Company, date: datetime.date, field: str) -> Response | None:
    """Visma's answer to a date nothing can be booked on, or None."""
    if company.fiscal_year_for(date) is None:
        return error(
            400,
            FISCAL_YEAR_DOES_NOT_EXIST,
            f"FiscalYearDoesNotExist - There is no fiscal year for {date}.",
            [{"ErrorCode": FISCAL_YEAR_DOES_NOT_EXIST, "Field": field}],
        )
    why = company.locked(date)
    if why:
        return validation_error([(field, why)], CANNOT_BE_CREATED_OR_UPDATED)
    return None


# --- customers -----------------------------------------------------------------------------------


def create_customer(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("customer", "The customer field is required.")])
    problems = check_fields(body, CUSTOMER_REQUIRED, CUSTOMER_MAX)
    terms = company.find("termsofpayments", str(body.get("TermsOfPaymentId") or ""))
    if not problems and terms is None:
        problems = [("TermsOfPaymentId", "TermsOfPaymentId does not exist.")]
    if problems:
        return validation_error(problems)
    number = str(body.get("CustomerNumber") or "")
    customers = company.data["customers"]
    if number and customers.lookup("CustomerNumber", number):
        return validation_error(
            [("CustomerNumber", f"A customer with CustomerNumber {number} already exists.")],
            CONFLICT,
        )
    if not number:
        numbers = [int(c["CustomerNumber"]) for c in customers if c["CustomerNumber"].isdigit()]
        number = str(max(numbers, default=0) + 1)
    customer = customers.add(
        {
            **body,
            "Id": state.new_id(),
            "CustomerNumber": number,
            "CurrencyCode": body.get("CurrencyCode") or "SEK",
            "TermsOfPayment": terms,
            "PayToAccountId": demo_data.stable_id("visma", company.key, "account", 1510),
            "ChangedUtc": now_utc(),
        }
    )
    company.create_calls["customers"][number] += 1
    return Response(201, customer)


# --- articles -------------------------------------------------------------------------------------


def save_article(
    body: Any, company: Company, state: SandboxState, article_id: str = ""
) -> Response:
    """POST (article_id "") or PUT (replaces the article's writable fields)."""
    if not isinstance(body, dict):
        return validation_error([("article", "The article field is required.")])
    problems = check_fields(body, ARTICLE_REQUIRED, ARTICLE_MAX)
    coding = company.find("articleaccountcodings", str(body.get("CodingId") or ""))
    unit = company.find("units", str(body.get("UnitId") or ""))
    if not problems and coding is None:
        problems.append(("CodingId", "CodingId does not exist."))
    if not problems and unit is None:
        problems.append(("UnitId", "UnitId does not exist."))
    if problems:
        return validation_error(problems)
    articles = company.data["articles"]
    existing = articles.find(article_id) if article_id else None
    if article_id and existing is None:
        return not_found("articles", article_id)
    number = str(body["Number"])
    if any(a is not existing for a in articles.lookup("Number", number)):
        return validation_error(
            [("Number", f"An article with Number {number} already exists.")], CONFLICT
        )
    net = Decimal(str(body.get("NetPrice") or 0))
    rate = Decimal(str(coding["VatRatePercent"]))  # type: ignore[index]
    stock = Decimal(str(body.get("StockBalance") or (existing or {}).get("StockBalance") or 0))
    fields = {
        **{k: v for k, v in body.items() if k != "Id"},
        "NetPrice": net,
        "GrossPrice": _money(net * (100 + rate) / 100),
        "CodingName": coding["Name"],  # type: ignore[index]
        "UnitName": unit["Name"],  # type: ignore[index]
        "UnitAbbreviation": unit["Abbreviation"],  # type: ignore[index]
        "StockBalance": stock,
        "StockBalanceReserved": Decimal("0"),
        "StockBalanceAvailable": stock,
        "ChangedUtc": now_utc(),
    }
    if existing is not None:
        articles.replace(existing, fields)
        company.update_calls["articles"][number] += 1
        return Response(200, existing)
    article = articles.add({"Id": state.new_id(), **fields})
    company.create_calls["articles"][number] += 1
    return Response(201, article)


# --- rows and their prices ------------------------------------------------------------------------


def price_rows(
    rows: Any, company: Company, required: tuple[str, ...]
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], Decimal, Decimal]:
    """Validate and price the rows of a draft or an order: problems, rows, net, VAT."""
    if not isinstance(rows, list):
        return [("Rows", "Rows must be a list.")], [], Decimal("0"), Decimal("0")
    problems: list[tuple[str, str]] = []
    priced, net, vat = [], Decimal("0"), Decimal("0")
    for index, row in enumerate(rows):
        prefix = f"Rows[{index}]."
        if not isinstance(row, dict):
            problems.append((f"Rows[{index}]", "A row must be an object."))
            continue
        problems.extend(check_fields(row, required, ROW_MAX, prefix))
        line = row.get("LineNumber")
        if isinstance(line, (int, Decimal)) and not 0 <= line <= 1000:
            problems.append((prefix + "LineNumber", "LineNumber must be between 0 and 1000."))
        if row.get("IsTextRow"):
            priced.append(dict(row))
            continue
        article = company.find("articles", str(row.get("ArticleId") or ""))
        if article is None:
            problems.append(
                (
                    prefix + "ArticleId",
                    "ArticleId is required and must exist when IsTextRow is false.",
                )
            )
            continue
        cost_centre_item = str(row.get("CostCenterItemId1") or "")
        if cost_centre_item:
            item = company.cost_centre_item(cost_centre_item)
            if item is None or not item.get("IsActive"):
                problems.append(
                    (
                        prefix + "CostCenterItemId1",
                        f"CostCenterItemId1 {cost_centre_item} is not an active item of cost "
                        "center 1.",
                    )
                )
        discount = Decimal(str(row.get("DiscountPercentage") or 0))
        if not 0 <= discount <= 1:
            problems.append(
                (prefix + "DiscountPercentage", "DiscountPercentage must be between 0 and 1.")
            )
        coding = company.find("articleaccountcodings", article["CodingId"]) or {}
        rate = Decimal(str(coding.get("VatRatePercent", 25)))
        price = (
            Decimal(str(row["UnitPrice"]))
            if row.get("UnitPrice") is not None
            else article["NetPrice"]
        )
        quantity = Decimal(str(row.get("Quantity") if row.get("Quantity") is not None else 1))
        row_net = _money(quantity * price * (1 - discount))
        net += row_net
        vat += _money(row_net * rate / 100)
        priced.append(
            {
                **row,
                "UnitPrice": price,
                "Quantity": quantity,
                "DiscountPercentage": discount,
                "ArticleNumber": article["Number"],
                "UnitAbbreviation": article["UnitAbbreviation"],
                "VatRateId": coding.get("Id", ""),
            }
        )
    return problems, priced, net, vat


def _head_problems(
    body: dict, company: Company, required: tuple[str, ...], max_lengths: dict[str, int]
) -> tuple[list[tuple[str, str]], dict[str, Any] | None]:
    problems = check_fields(body, required, max_lengths)
    customer = company.find("customers", str(body.get("CustomerId") or ""))
    if not problems and customer is None:
        problems = [("CustomerId", "The customer does not exist.")]
    if body.get("RotReducedInvoicingType") not in (None, 0, 1, 2):
        problems.append(("RotReducedInvoicingType", "RotReducedInvoicingType must be 0, 1 or 2."))
    currency = str(body.get("CurrencyCode") or (customer or {}).get("CurrencyCode") or "SEK")
    if company.currency_rate(currency) is None:
        problems.append(("CurrencyCode", f"There is no currency rate for {currency}."))
    return problems, customer


def _in_home_currency(amount: Decimal, rate: Decimal) -> Decimal:
    """What an amount in the invoice's currency is in the company's (SEK), to the öre."""
    return _money(amount * rate)


# --- invoice drafts and invoices ---------------------------------------------------------------


def create_draft(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("customerInvoiceDraft", "The request body is required.")])
    problems, customer = _head_problems(body, company, DRAFT_REQUIRED, DRAFT_MAX)
    row_problems, rows, net, vat = price_rows(body.get("Rows") or [], company, DRAFT_ROW_REQUIRED)
    problems.extend(row_problems)
    if problems or customer is None:
        return validation_error(problems)
    currency = str(customer.get("CurrencyCode") or "SEK").upper()
    rate = company.currency_rate(currency) or Decimal(1)
    draft = company.data["customerinvoicedrafts"].add(
        {
            **body,
            "Id": state.new_id(),
            "CreatedUtc": now_utc(),
            "IsCreditInvoice": bool(body.get("IsCreditInvoice", False)),
            "Rows": rows,
            "CustomerNumber": customer["CustomerNumber"],
            "InvoiceCurrencyCode": currency,
            "IncludesVat": False,
            # A draft's totals are in its currency; the base currency ones in the company's.
            "TotalAmount": net + vat,
            "TotalVatAmount": vat,
            "TotalRoundings": Decimal("0.00"),
            "TotalAmountBaseCurrency": _in_home_currency(net + vat, rate),
            "TotalVatAmountBaseCurrency": _in_home_currency(vat, rate),
        }
    )
    company.create_calls["customerinvoicedrafts"][
        str(body.get("YourReference") or draft["Id"])
    ] += 1
    return Response(201, draft)


def _invoice_from(
    source: dict[str, Any], total: Decimal, vat: Decimal, company: Company, state: SandboxState
) -> dict[str, Any]:
    customer = company.find("customers", source["CustomerId"]) or {}
    days = int((customer.get("TermsOfPayment") or {}).get("NumberOfDays") or 30)
    invoice_date = datetime.date.fromisoformat(
        str(source.get("InvoiceDate") or source.get("OrderDate") or now_utc())[:10]
    )
    currency = str(source.get("InvoiceCurrencyCode") or source.get("CurrencyCode") or "SEK").upper()
    # `total` and `vat` are in the invoice's currency (its rows are priced in it); Visma's
    # TotalAmount, TotalVatAmount and RemainingAmount are in SEK at the invoice's rate.
    rate = company.currency_rate(currency) or Decimal(1)
    invoice = {key: source.get(key) for key in COPIED_TO_INVOICE}
    invoice.update(
        {
            "Id": state.new_id(),
            "InvoiceNumber": company.next_invoice_number,
            "InvoiceDate": invoice_date.isoformat(),
            "DueDate": (invoice_date + datetime.timedelta(days=days)).isoformat(),
            "CurrencyCode": currency,
            "CurrencyRate": rate,
            "CustomerNumber": customer.get("CustomerNumber", ""),
            "IsCreditInvoice": bool(source.get("IsCreditInvoice")),
            "IncludesVat": False,
            "TotalAmount": _in_home_currency(total, rate),
            "TotalVatAmount": _in_home_currency(vat, rate),
            "TotalRoundings": Decimal("0.00"),
            "TotalAmountInvoiceCurrency": total,
            "TotalVatAmountInvoiceCurrency": vat,
            "RemainingAmount": _in_home_currency(total, rate),
            "RemainingAmountInvoiceCurrency": total,
            "TermsOfPaymentId": customer.get("TermsOfPaymentId"),
            "CustomerEmail": customer.get("EmailAddress", ""),
            "CreatedUtc": now_utc(),
            "ModifiedUtc": now_utc(),
        }
    )
    company.next_invoice_number += 1
    company.data["customerinvoices"].add(invoice)
    company.create_calls["customerinvoices"][str(source.get("YourReference") or invoice["Id"])] += 1
    return invoice


def convert_draft(draft_id: str, body: Any, company: Company, state: SandboxState) -> Response:
    draft = company.find("customerinvoicedrafts", draft_id)
    if draft is None:
        return not_found("customerinvoicedrafts", draft_id)
    checks = body if isinstance(body, dict) else {}
    for field, actual in (
        ("TotalAmountInvoiceCurrency", draft["TotalAmount"]),
        ("TotalVatAmountInvoiceCurrency", draft["TotalVatAmount"]),
    ):
        if checks.get(field) is not None and Decimal(str(checks[field])) != actual:
            return validation_error([(field, f"{field} does not match the draft ({actual}).")])
    invoice_date, problems = _date(draft.get("InvoiceDate") or now_utc(), "InvoiceDate")
    if problems or invoice_date is None:
        return validation_error(problems)
    refused = _period_problem(company, invoice_date, "InvoiceDate")
    if refused:
        return refused
    invoice = _invoice_from(draft, draft["TotalAmount"], draft["TotalVatAmount"], company, state)
    company.data["customerinvoicedrafts"].remove(draft)
    return Response(200, invoice)


def pay_invoice(invoice_id: str, body: Any, company: Company, state: SandboxState) -> Response:
    invoice = company.find("customerinvoices", invoice_id)
    if invoice is None:
        return not_found("customerinvoices", invoice_id)
    if not isinstance(body, dict):
        return validation_error([("customerInvoicePayment", "The request body is required.")])
    problems = check_fields(body, PAYMENT_REQUIRED, PAYMENT_MAX)
    if problems:
        return validation_error(problems)
    if company.find("bankaccounts", str(body["CompanyBankAccountId"])) is None:
        return validation_error([("CompanyBankAccountId", "The bank account does not exist.")])
    if body["PaymentType"] not in (1, 2, 3):
        return validation_error([("PaymentType", "PaymentType must be 1, 2 or 3.")])
    paid_on, problems = _date(body["PaymentDate"], "PaymentDate")
    if problems or paid_on is None:
        return validation_error(problems)
    refused = _period_problem(company, paid_on, "PaymentDate")
    if refused:
        return refused
    # PaymentAmount is in the invoice's currency; DomesticPaymentAmount is what the payment was
    # worth in SEK where it landed (a non-domestic invoice paid into a SEK account).
    amount = Decimal(str(body["PaymentAmount"]))
    remaining = Decimal(str(invoice["RemainingAmountInvoiceCurrency"]))
    if invoice.get("IsCreditInvoice"):
        if amount >= 0 or amount < remaining:
            return credit_payment_refused(remaining)
    elif amount <= 0 or amount > remaining:
        return validation_error(
            [("PaymentAmount", f"PaymentAmount must be between 0 and the remaining {remaining}.")],
            CANNOT_BE_CREATED_OR_UPDATED,
        )
    rate = Decimal(str(invoice.get("CurrencyRate") or 1))
    home_remaining = Decimal(str(invoice["RemainingAmount"]))
    # The receivable falls at the invoice's own rate, and to nothing with the last payment (no
    # öre of rounding left open); what the payment was worth otherwise is Visma's exchange
    # difference (3960/7960), which it books itself.
    home_paid = home_remaining if amount == remaining else _in_home_currency(amount, rate)
    domestic = body.get("DomesticPaymentAmount")
    domestic_paid = home_paid if domestic is None else Decimal(str(domestic))
    invoice["RemainingAmountInvoiceCurrency"] = remaining - amount
    invoice["RemainingAmount"] = home_remaining - home_paid
    invoice["ModifiedUtc"] = now_utc()
    payment = {
        **body,
        "PaymentAmount": amount,
        "_InvoiceId": invoice["Id"],
        "_ExchangeDifference": domestic_paid - home_paid,  # gain positive, loss negative
    }
    company.payments.append(payment)
    company.create_calls["payments"][str(invoice["InvoiceNumber"])] += 1
    return Response(200, {k: v for k, v in payment.items() if not k.startswith("_")})


def credit_payment_refused(remaining: Decimal) -> Response:
    """A credit invoice is settled with a negative payment, at most what is left of it (its
    RemainingAmount is negative too); a positive amount would pay the credit the wrong way."""
    return validation_error(
        [("PaymentAmount", f"PaymentAmount must be between {remaining} and 0.")],
        CANNOT_BE_CREATED_OR_UPDATED,
    )


# --- orders (the order module) -----------------------------------------------------------------


def create_order(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("order", "The request body is required.")])
    problems, customer = _head_problems(body, company, ORDER_REQUIRED, ORDER_MAX)
    if body.get("Status") not in (None, 1, 2, 3, 4):
        problems.append(("Status", "Status must be 1, 2, 3 or 4."))
    row_problems, rows, net, vat = price_rows(body.get("Rows") or [], company, ORDER_ROW_REQUIRED)
    problems.extend(row_problems)
    if problems or customer is None:
        return validation_error(problems)
    order = company.data["orders"].add(
        {
            **body,
            "Id": state.new_id(),
            "Number": company.next_order_number,
            "Rows": rows,
            # Visma works the totals out from the rows, whatever was sent.
            "Amount": net,
            "VatAmount": vat,
            "RoundingsAmount": Decimal("0.00"),
            "CreatedUtc": now_utc(),
            "ModifiedUtc": now_utc(),
        }
    )
    company.next_order_number += 1
    company.create_calls["orders"][str(body.get("YourReference") or order["Id"])] += 1
    return Response(201, order)


def convert_order(order_id: str, company: Company, state: SandboxState) -> Response:
    order = company.find("orders", order_id)
    if order is None:
        return not_found("orders", order_id)
    if order.get("Status") == 4:
        return validation_error(
            [("Status", "The order is already invoiced.")], CANNOT_BE_CREATED_OR_UPDATED
        )
    order_date, problems = _date(order.get("OrderDate"), "OrderDate")
    if problems or order_date is None:
        return validation_error(problems)
    refused = _period_problem(company, order_date, "OrderDate")
    if refused:
        return refused
    total = order["Amount"] + order["VatAmount"]
    invoice = _invoice_from(order, total, order["VatAmount"], company, state)
    company.data["orders"].replace(order, {"Status": 4, "ModifiedUtc": now_utc()})
    company.update_calls["orders"][str(order.get("YourReference") or order["Id"])] += 1
    return Response(200, invoice)


# --- vouchers ----------------------------------------------------------------------------------


def create_voucher(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("apiVoucher", "The request body is required.")])
    problems = check_fields(body, VOUCHER_REQUIRED, VOUCHER_MAX)
    if problems:
        return validation_error(problems)
    voucher_date, problems = _date(body["VoucherDate"], "VoucherDate")
    if problems or voucher_date is None:
        return validation_error(problems)
    refused = _period_problem(company, voucher_date, "VoucherDate")
    if refused:
        return refused
    year = company.fiscal_year_for(voucher_date) or {}
    known = {int(a["Number"]) for a in company.accounts if a["FiscalYearId"] == year.get("Id")}
    rows = body["Rows"] if isinstance(body["Rows"], list) else []
    debit = credit = Decimal("0")
    for index, row in enumerate(rows):
        prefix = f"Rows[{index}]."
        problems.extend(check_fields(row, ("AccountNumber",), VOUCHER_ROW_MAX, prefix))
        if row.get("AccountNumber") is not None and int(row["AccountNumber"]) not in known:
            problems.append(
                (prefix + "AccountNumber", f"Account {row['AccountNumber']} does not exist.")
            )
        debit += Decimal(str(row.get("DebitAmount") or 0))
        credit += Decimal(str(row.get("CreditAmount") or 0))
    if len(rows) < 2:
        problems.append(("Rows", "A voucher needs at least two rows."))
    if debit != credit:
        problems.append(("Rows", f"The voucher is not balanced: debit {debit}, credit {credit}."))
    if problems:
        return validation_error(problems, DATA_MODEL_VALIDATION)
    voucher = company.vouchers[year["Id"].lower()].add(
        {
            **body,
            "Id": state.new_id(),
            "NumberAndNumberSeries": f"A{company.next_voucher_number}",
            "NumberSeries": "A",
            "VoucherType": body.get("VoucherType") or 2,
            "ModifiedUtc": now_utc(),
        }
    )
    company.next_voucher_number += 1
    company.create_calls["vouchers"][str(body["VoucherText"])] += 1
    return Response(201, voucher)


# --- webhooks (beta at Visma) ------------------------------------------------------------------


def create_webhook(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("webHook", "The request body is required.")])
    problems = check_fields(body, WEBHOOK_REQUIRED, {"Description": 100})
    if not problems and not str(body["Endpoint"]).startswith("https://"):
        problems.append(("Endpoint", "The Endpoint must be an https URL."))
    if problems:
        return validation_error(problems)
    webhook = company.data["webhooks"].add(
        {**body, "Id": state.new_id(), "CreatedUtc": now_utc(), "ModifiedUtc": now_utc()}
    )
    company.create_calls["webhooks"][str(body["Endpoint"])] += 1
    return Response(201, webhook)
