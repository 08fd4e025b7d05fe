"""Visma eEkonomi (eAccounting API v2).

Bodies follow specs/visma-eaccounting-v2.swagger.json: CustomerApi, CustomerInvoiceDraftApi and
CustomerInvoiceDraftRowApi, with their required fields and maximum lengths. Free text is cut to
the maximum length; natural keys (CustomerNumber, YourReference) are never cut, because a cut key
would no longer find what it created.

Credentials: client_id, client_secret, access_token, refresh_token, expires_at (epoch seconds),
token_url (when absent: the real identity server for the real API root, else
{base_url}/connect/token as the sandbox serves it). Visma rotates the refresh token on every
refresh; the new one is stored at once, under a row lock (see ApiClient.renew_token).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from shops.clients.base import ApiClient
from shops.clients.types import (
    Address,
    ErpArticle,
    ErpCustomer,
    ErpInvoice,
    ErpInvoiceDraft,
    NewErpCustomer,
    NewInvoiceDraft,
    NewInvoiceRow,
)
from shops.models import Connection

TOKEN_URL = "https://identity.vismaonline.com/connect/token"
API_URL = "https://eaccountingapi.vismaonline.com"
SCOPES = "ea:api offline_access ea:sales ea:accounting"

CUSTOMER_NUMBER_MAX = 16
# The draft allows 100 characters, but the invoice it turns into only 50: the key must survive.
YOUR_REFERENCE_MAX = 50
TWO = Decimal("0.01")
FOUR = Decimal("0.0001")
_FIELD_IN_MESSAGE = re.compile(r"The field ([\w.\[\]]+) must|The ([\w.\[\]]+) field is required")


def _money(value: Decimal) -> float:
    """A JSON number with at most two decimals. The float of a two-decimal Decimal prints back
    as exactly those digits, so nothing is lost on the way."""
    return float(Decimal(value).quantize(TWO, ROUND_HALF_UP))


def _cut(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def _odata_string(value: str) -> str:
    """An OData string literal: quotes doubled, so a name like O'Brien cannot break the filter."""
    return "'" + value.replace("'", "''") + "'"


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(TWO)


class VismaClient(ApiClient):
    system = "Visma eEkonomi"
    PAGE_SIZE = 50

    def __init__(self, connection: Connection, **options: Any) -> None:
        super().__init__(connection, **options)
        self._terms_of_payment_id = ""

    # --- auth ----------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cached_access_token()}"}

    def handle_unauthorized(self, rejected_headers: dict[str, str]) -> bool:
        stale = rejected_headers.get("Authorization", "").removeprefix("Bearer ")
        self.renew_token(stale_token=stale)
        return True

    def default_token_url(self) -> str:
        # Never send a sandbox or test refresh token to the real identity server by accident:
        # only the real API root implies the real token URL.
        if self.base_url == API_URL:
            return TOKEN_URL
        return f"{self.base_url}/connect/token"

    def fetch_token(self, credentials: dict[str, Any]) -> dict[str, Any]:
        body = self.post_token_request(
            credentials.get("token_url") or self.default_token_url(),
            {"grant_type": "refresh_token", "refresh_token": credentials.get("refresh_token", "")},
            auth=(credentials.get("client_id", ""), credentials.get("client_secret", "")),
        )
        return {
            "access_token": body["access_token"],
            # Visma rotates: the old refresh token is dead from now on.
            "refresh_token": body.get("refresh_token") or credentials.get("refresh_token", ""),
            "expires_at": int(time.time()) + int(body.get("expires_in") or 3600),
        }

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        """Visma's error body: {ErrorCode, DeveloperErrorMessage, ErrorId, Errors: [{Field}]}."""
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict):
            return str(body)[:300], ""
        message = str(body.get("DeveloperErrorMessage") or body.get("Message") or response.reason)
        if body.get("ErrorCode"):
            message = (
                f"{message} (ErrorCode {body['ErrorCode']}, ErrorId {body.get('ErrorId', '')})"
            )
        field = ""
        for error in body.get("Errors") or []:
            if isinstance(error, dict) and error.get("Field"):
                field = str(error["Field"])
                break
        if not field:
            # Without a field list, .NET's validation text still names it.
            named = _FIELD_IN_MESSAGE.search(message)
            field = next((g for g in named.groups() if g), "") if named else ""
        return message, field

    # --- lists ---------------------------------------------------------------------------------

    def _pages(
        self, path: str, *, odata_filter: str = "", page_size: int = 0
    ) -> Iterator[list[dict]]:
        """Every page of a {Meta, Data} list, following $page until TotalNumberOfPages."""
        page = 1
        while True:
            params: dict[str, Any] = {"$page": page, "$pagesize": page_size or self.PAGE_SIZE}
            if odata_filter:
                params["$filter"] = odata_filter
            body = self.request("GET", path, params=params)
            yield body.get("Data") or []
            meta = body.get("Meta") or {}
            if page >= int(meta.get("TotalNumberOfPages") or 0):
                return
            page += 1

    def _first(self, path: str, odata_filter: str) -> dict | None:
        for rows in self._pages(path, odata_filter=odata_filter, page_size=1):
            return rows[0] if rows else None
        return None

    # --- customers -----------------------------------------------------------------------------

    def find_customer(self, customer_number: str) -> ErpCustomer | None:
        found = self._first("/v2/customers", f"CustomerNumber eq {_odata_string(customer_number)}")
        return _customer(found) if found else None

    def create_customer(self, customer: NewErpCustomer) -> ErpCustomer:
        return _customer(self.request("POST", "/v2/customers", json_body=customer_body(customer)))

    def default_terms_of_payment_id(self) -> str:
        """The first terms of payment available for sales (remembered for this client's life:
        every new customer needs one)."""
        if not self._terms_of_payment_id:
            for rows in self._pages("/v2/termsofpayments"):
                found = next((t for t in rows if t.get("AvailableForSales", True)), None)
                if found:
                    self._terms_of_payment_id = str(found["Id"])
                    break
            else:
                raise LookupError("Visma has no terms of payment available for sales.")
        return self._terms_of_payment_id

    # --- articles ------------------------------------------------------------------------------

    def find_article(self, number: str) -> ErpArticle | None:
        found = self._first("/v2/articles", f"Number eq {_odata_string(number)}")
        return _article(found) if found else None

    def articles(self, *, page_size: int = 0) -> Iterator[ErpArticle]:
        for rows in self._pages("/v2/articles", page_size=page_size):
            yield from (_article(row) for row in rows)

    # --- invoices ------------------------------------------------------------------------------

    def find_invoice_draft(self, your_reference: str) -> ErpInvoiceDraft | None:
        found = self._first(
            "/v2/customerinvoicedrafts", f"YourReference eq {_odata_string(your_reference)}"
        )
        return _draft(found) if found else None

    def create_invoice_draft(self, draft: NewInvoiceDraft) -> ErpInvoiceDraft:
        body = self.request(
            "POST", "/v2/customerinvoicedrafts", json_body=invoice_draft_body(draft)
        )
        return _draft(body)

    def convert_invoice_draft(self, draft_id: str) -> ErpInvoice:
        # The body (CustomerInvoiceDraftValidationApi) is required but every property optional.
        body = self.request("POST", f"/v2/customerinvoicedrafts/{draft_id}/convert", json_body={})
        return _invoice(body)

    def find_invoice(self, your_reference: str) -> ErpInvoice | None:
        found = self._first(
            "/v2/customerinvoices", f"YourReference eq {_odata_string(your_reference)}"
        )
        return _invoice(found) if found else None


# --- request bodies (swagger: CustomerApi, CustomerInvoiceDraftApi, CustomerInvoiceDraftRowApi) ---


def customer_body(customer: NewErpCustomer) -> dict[str, Any]:
    if not customer.customer_number or len(customer.customer_number) > CUSTOMER_NUMBER_MAX:
        raise ValueError(f"Customer number must be 1–{CUSTOMER_NUMBER_MAX} characters.")
    address = customer.invoice_address
    body: dict[str, Any] = {
        "CustomerNumber": customer.customer_number,
        "Name": _cut(customer.name or address.name, 50),
        "IsPrivatePerson": customer.is_private_person,
        "IsActive": True,
        "TermsOfPaymentId": customer.terms_of_payment_id,
        # Required ones go out even when empty, so Visma names the missing field.
        "InvoiceCity": _cut(address.city, 50),
        "InvoicePostalCode": _cut(address.postal_code, 10),
    }
    optional = {
        "InvoiceAddress1": _cut(address.line1, 50),
        "InvoiceAddress2": _cut(address.line2, 50),
        "InvoiceCountryCode": _cut(address.country_code, 2).upper(),
        "EmailAddress": _cut(customer.email, 255),
        "Telephone": _cut(customer.phone, 50),
        "CurrencyCode": _cut(customer.currency, 3).upper(),
        "VatNumber": _cut(customer.vat_number, 20),
    }
    if not customer.is_private_person:
        optional["CorporateIdentityNumber"] = _cut(customer.organisation_number, 20)
    optional.update(_delivery(customer.delivery_address, address, name_max=100))
    body.update({k: v for k, v in optional.items() if v})
    return body


def invoice_draft_body(draft: NewInvoiceDraft) -> dict[str, Any]:
    if not draft.your_reference or len(draft.your_reference) > YOUR_REFERENCE_MAX:
        raise ValueError(f"YourReference must be 1–{YOUR_REFERENCE_MAX} characters.")
    address = draft.invoice_address
    body: dict[str, Any] = {
        "CustomerId": draft.customer_id,
        "RotReducedInvoicingType": 0,
        "EuThirdParty": False,
        "CustomerIsPrivatePerson": draft.customer_is_private_person,
        "YourReference": draft.your_reference,
        "InvoiceDate": draft.invoice_date.isoformat(),
        "InvoiceCustomerName": _cut(address.name, 50),
        "InvoicePostalCode": _cut(address.postal_code, 10),
        "InvoiceCity": _cut(address.city, 50),
        "InvoiceCountryCode": _cut(address.country_code, 2).upper(),
        "Rows": [_row(number, row) for number, row in enumerate(draft.rows, start=1)],
    }
    optional = {
        "InvoiceAddress1": _cut(address.line1, 50),
        "InvoiceAddress2": _cut(address.line2, 50),
    }
    optional.update(_delivery(draft.delivery_address, address, name_max=50))
    body.update({k: v for k, v in optional.items() if v})
    return body


def _delivery(delivery: Address | None, invoice: Address, *, name_max: int) -> dict[str, str]:
    # Visma only wants a delivery address when it differs from the invoice address.
    if delivery is None or delivery == invoice:
        return {}
    return {
        "DeliveryCustomerName": _cut(delivery.name, name_max),
        "DeliveryAddress1": _cut(delivery.line1, 50),
        "DeliveryAddress2": _cut(delivery.line2, 50),
        "DeliveryPostalCode": _cut(delivery.postal_code, 10),
        "DeliveryCity": _cut(delivery.city, 50),
        "DeliveryCountryCode": _cut(delivery.country_code, 2).upper(),
    }


def _row(number: int, row: NewInvoiceRow) -> dict[str, Any]:
    if row.article_id is None:
        # A text row carries text only; Visma ignores prices on it.
        return {
            "LineNumber": number,
            "IsTextRow": True,
            "Text": _cut(row.text, 2000),
            "ReversedConstructionServicesVatFree": False,
        }
    return {
        "LineNumber": number,
        "ArticleId": row.article_id,
        "IsTextRow": False,
        "Text": _cut(row.text, 2000),
        "UnitPrice": _money(row.unit_price),
        "Quantity": _money(row.quantity),
        # Visma wants a fraction 0–1 with four decimals; ours is a percentage.
        "DiscountPercentage": float(
            (Decimal(row.discount_percent) / 100).quantize(FOUR, ROUND_HALF_UP)
        ),
        "ReversedConstructionServicesVatFree": False,
    }


# --- responses -----------------------------------------------------------------------------------


def _customer(data: dict) -> ErpCustomer:
    return ErpCustomer(
        id=str(data["Id"]),
        customer_number=str(data.get("CustomerNumber") or ""),
        name=data.get("Name") or "",
    )


def _article(data: dict) -> ErpArticle:
    return ErpArticle(
        id=str(data["Id"]),
        number=str(data.get("Number") or ""),
        name=data.get("Name") or "",
        unit_price=_decimal(data.get("NetPrice")),
        is_active=bool(data.get("IsActive", True)),
    )


def _draft(data: dict) -> ErpInvoiceDraft:
    return ErpInvoiceDraft(
        id=str(data["Id"]),
        your_reference=data.get("YourReference") or "",
        customer_id=str(data.get("CustomerId") or ""),
        total_amount=_decimal(data.get("TotalAmount")),
    )


def _invoice(data: dict) -> ErpInvoice:
    return ErpInvoice(
        id=str(data["Id"]),
        invoice_number=str(data.get("InvoiceNumber") or ""),
        your_reference=data.get("YourReference") or "",
        customer_id=str(data.get("CustomerId") or ""),
        total_amount=_decimal(data.get("TotalAmount")),
        remaining_amount=_decimal(data.get("RemainingAmount")),
    )
