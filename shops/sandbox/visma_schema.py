"""What the Visma sandbox checks in what it receives, and how it says no.

Required fields and maximum lengths are those of specs/visma-eaccounting-v2.swagger.json; the
error body is Visma's {ErrorCode, DeveloperErrorMessage, ErrorId, Errors: [{Field}]}, with the
error codes of developer.vismaonline.com/docs/error-codes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from shops.sandbox.state import Response

# Error codes from Visma's documentation.
UNKNOWN_ERROR = 1000
DATA_MODEL_VALIDATION = 2000
RESOURCE_NOT_FOUND = 3000
FISCAL_YEAR_DOES_NOT_EXIST = 3001
CONFLICT = 4000
CANNOT_BE_CREATED_OR_UPDATED = 4002
NO_ACCESS_TO_MODULE = 4002  # Visma gives both the same number
NOT_AUTHORIZED = 4005
TOO_MANY_REQUESTS = 4010

ORDER_MODULE = "order_standard"


def _lengths(spec: str) -> dict[str, int]:
    return {name: int(limit) for name, limit in (item.split(":") for item in spec.split())}


CUSTOMER_REQUIRED = tuple(
    "InvoiceCity InvoicePostalCode Name TermsOfPaymentId IsPrivatePerson IsActive".split()
)
CUSTOMER_MAX = _lengths("""
    CustomerNumber:16 CorporateIdentityNumber:20 ContactPersonEmail:255 ContactPersonMobile:50
    ContactPersonName:100 ContactPersonPhone:50 CurrencyCode:3 EmailAddress:255
    InvoiceAddress1:50 InvoiceAddress2:50 InvoiceCity:50 InvoiceCountryCode:2
    InvoicePostalCode:10 DeliveryCustomerName:100 DeliveryAddress1:50 DeliveryAddress2:50
    DeliveryCity:50 DeliveryCountryCode:2 DeliveryPostalCode:10 Name:50 Note:4000
    MobilePhone:50 Telephone:50 VatNumber:20 WwwAddress:255
""")
DRAFT_REQUIRED = tuple(
    """CustomerId RotReducedInvoicingType InvoiceCustomerName InvoicePostalCode InvoiceCity
    InvoiceCountryCode EuThirdParty CustomerIsPrivatePerson""".split()
)
DRAFT_MAX = _lengths("""
    YourReference:100 OurReference:100 InvoiceCustomerName:50 InvoiceAddress1:50
    InvoiceAddress2:50 InvoicePostalCode:10 InvoiceCity:50 InvoiceCountryCode:2
    DeliveryCustomerName:50 DeliveryAddress1:50 DeliveryAddress2:50 DeliveryPostalCode:10
    DeliveryCity:50 DeliveryCountryCode:2
""")
DRAFT_ROW_REQUIRED = ("LineNumber", "IsTextRow", "Text", "ReversedConstructionServicesVatFree")
ORDER_REQUIRED = tuple(
    """Amount CustomerId CurrencyCode VatAmount RoundingsAmount InvoiceCity InvoiceCountryCode
    InvoiceCustomerName InvoicePostalCode EuThirdParty CustomerIsPrivatePerson OrderDate Status
    RotReducedInvoicingType ReverseChargeOnConstructionServices""".split()
)
ORDER_MAX = _lengths("""
    CurrencyCode:3 YourReference:50 OurReference:50 InvoiceCustomerName:50 InvoiceAddress1:50
    InvoiceAddress2:50 InvoicePostalCode:10 InvoiceCountryCode:2 DeliveryCustomerName:50
    DeliveryAddress1:50 DeliveryAddress2:50 DeliveryPostalCode:10 DeliveryCity:50
    DeliveryCountryCode:2
""")
ORDER_ROW_REQUIRED = ("LineNumber", "IsTextRow", "IsWorkCost", "EligibleForReverseChargeOnVat")
ROW_MAX = {"Text": 2000}
ARTICLE_REQUIRED = ("IsActive", "Number", "Name", "CodingId", "UnitId")
ARTICLE_MAX = _lengths("Number:40 Name:50 NameEnglish:50")
PAYMENT_REQUIRED = (
    "CompanyBankAccountId",
    "PaymentDate",
    "PaymentAmount",
    "PaymentCurrency",
    "PaymentType",
)
PAYMENT_MAX = {"Reference": 100}
VOUCHER_REQUIRED = ("VoucherDate", "VoucherText", "Rows")
VOUCHER_MAX = {"VoucherText": 100}
VOUCHER_ROW_MAX = {"TransactionText": 50}
WEBHOOK_REQUIRED = ("Endpoint", "Subscriptions")
NOTE_MAX = {"Subject": 40, "Text": 256}
NOTE_DOCUMENT_TYPES = range(0, 17)

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_SEGMENT = re.compile(rf"/(?:{_UUID}|\d+)(?=/|$)")


def endpoint(path: str) -> str:
    """The endpoint a path counts against for the rate limit: ids (UUIDs, numbers) replaced."""
    return _ID_SEGMENT.sub("/{id}", path.lower())


def error(
    status: int,
    code: int,
    message: str,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "ErrorCode": code,
        "DeveloperErrorMessage": message,
        "ErrorId": str(uuid.uuid4()),
    }
    if errors:
        body["Errors"] = errors
    return Response(status, body, headers or {})


def validation_error(
    problems: list[tuple[str, str]], code: int = DATA_MODEL_VALIDATION
) -> Response:
    return error(
        400,
        code,
        " ".join(message for _field, message in problems),
        [
            {"ErrorCode": code, "ErrorMessage": message, "Field": field}
            for field, message in problems
        ],
    )


def not_found(collection: str, object_id: str) -> Response:
    return error(
        404, RESOURCE_NOT_FOUND, f"ResourceNotFound - {collection} {object_id} was not found."
    )


def no_module(module: str) -> Response:
    return error(
        403, NO_ACCESS_TO_MODULE, f"ForbiddenRequestException - No access to module: {module}"
    )


def not_pro() -> Response:
    # Visma documents the sales price lists as "available in the Pro variant" but not what
    # other variants get; answered like a missing module, which is how Visma refuses the rest.
    return error(
        403,
        NO_ACCESS_TO_MODULE,
        "ForbiddenRequestException - The endpoint is only available in the Pro variant.",
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_fields(
    body: dict, required: tuple[str, ...], max_lengths: dict[str, int], prefix: str = ""
) -> list[tuple[str, str]]:
    problems = [
        (prefix + name, f"The {name} field is required.")
        for name in required
        if _missing(body.get(name))
    ]
    for name, limit in max_lengths.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                (
                    prefix + name,
                    f"The field {name} must be a string with a maximum length of {limit}.",
                )
            )
    return problems
