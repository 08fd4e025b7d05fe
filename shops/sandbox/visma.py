"""Visma eEkonomi (eAccounting API v2) as the sandbox serves it under /visma.

Faithful where our clients depend on it: the OAuth token endpoint with rotating refresh tokens,
401 for expired or unknown access tokens, the {Meta, Data} list envelope with $page/$pagesize and
$filter, the required fields and maximum lengths of the swagger (specs/visma-eaccounting-v2), the
error body {ErrorCode, DeveloperErrorMessage, ErrorId} (plus Errors[] naming each Field), and the
600 requests/minute limit per API client and endpoint (429, ErrorCode 4010).

Companies are told apart by the OAuth client: each demo client belongs to one company.
Prices on rows are excluding VAT (IncludesVat is always false here). A refresh token is valid
until it has been used once; after a sandbox restart, the first correctly signed refresh token a
client presents is accepted, so stored demo credentials survive restarts.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import math
import re
import time
import uuid
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.sandbox import demo_data
from shops.sandbox.state import (
    ODataError,
    Request,
    Response,
    SandboxState,
    bearer,
    mint_token,
    now_utc,
    odata_filter,
    read_token,
)

TOKEN_LIFETIME = 3600
SCOPES = "ea:api offline_access ea:sales ea:accounting"
TWO = Decimal("0.01")

# Error codes from Visma's documentation.
DATA_MODEL_VALIDATION = 2000
RESOURCE_NOT_FOUND = 3000
CONFLICT = 4000
NOT_AUTHORIZED = 4005
TOO_MANY_REQUESTS = 4010
UNKNOWN_ERROR = 1000


def _lengths(spec: str) -> dict[str, int]:
    return {name: int(limit) for name, limit in (item.split(":") for item in spec.split())}


# Required fields and maximum lengths, as in the swagger definitions (CustomerApi,
# CustomerInvoiceDraftApi, CustomerInvoiceDraftRowApi).
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
ROW_REQUIRED = ("LineNumber", "IsTextRow", "Text", "ReversedConstructionServicesVatFree")
ROW_MAX = {"Text": 2000}

COLLECTIONS = tuple(
    """customers articles articleaccountcodings termsofpayments customerinvoicedrafts
    customerinvoices""".split()
)
CREATED_COLLECTIONS = ("customers", "customerinvoicedrafts", "customerinvoices")
# What a converted invoice takes over from its draft.
COPIED_TO_INVOICE = tuple(
    """CustomerId Rows YourReference OurReference InvoiceCustomerName InvoiceAddress1
    InvoiceAddress2 InvoicePostalCode InvoiceCity InvoiceCountryCode DeliveryCustomerName
    DeliveryAddress1 DeliveryAddress2 DeliveryPostalCode DeliveryCity DeliveryCountryCode
    CustomerIsPrivatePerson EuThirdParty RotReducedInvoicingType IsCreditInvoice TotalAmount
    TotalVatAmount TotalRoundings CustomerNumber IncludesVat""".split()
)
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_SEGMENT = re.compile(rf"/{_UUID}")


@dataclasses.dataclass
class Company:
    key: str
    name: str
    data: dict[str, list[dict[str, Any]]]
    create_calls: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    token_requests: Counter[str] = dataclasses.field(default_factory=Counter)
    throttled: int = 0
    next_invoice_number: int = 10001

    def find(self, collection: str, object_id: str) -> dict[str, Any] | None:
        wanted = object_id.lower()
        return next((o for o in self.data[collection] if o["Id"].lower() == wanted), None)


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


def _money(value: Decimal) -> Decimal:
    return value.quantize(TWO, ROUND_HALF_UP)


class VismaSandbox:
    name = "visma"

    def reset(self, state: SandboxState) -> None:
        self.companies: dict[str, Company] = {}
        self.clients: dict[str, tuple[str, str]] = {}  # client_id -> (secret, company)
        # The one refresh token (by jti) each client may still use; absent = not known yet.
        self.current_refresh: dict[str, str] = {}
        for tenant in demo_data.DEMO_TENANTS:
            seeded = demo_data.visma_company(tenant)
            data = {name: list(seeded.get(name, [])) for name in COLLECTIONS}
            self.companies[tenant] = Company(tenant, demo_data.COMPANY_NAMES[tenant], data)
            credentials = demo_data.DEMO_CREDENTIALS["visma"][tenant]
            self.clients[credentials["client_id"]] = (credentials["client_secret"], tenant)

    def is_token_path(self, path: str) -> bool:
        return path.rstrip("/").lower() == "/connect/token"

    def snapshot(self) -> dict[str, Any]:
        """All companies together (each object tagged with "_company"; create calls summed, which
        is safe because our natural keys carry the shop's id), and each company on its own."""
        companies = {
            key: {
                "name": company.name,
                **{name: company.data[name] for name in CREATED_COLLECTIONS},
                "create_calls": {k: dict(v) for k, v in company.create_calls.items()},
                "token_requests": dict(company.token_requests),
                "throttled": company.throttled,
            }
            for key, company in self.companies.items()
        }
        together: dict[str, Any] = {
            name: [{**o, "_company": key} for key, c in companies.items() for o in c[name]]
            for name in CREATED_COLLECTIONS
        }
        create_calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        token_requests: Counter[str] = Counter()
        for company in self.companies.values():
            for collection, calls in company.create_calls.items():
                create_calls[collection].update(calls)
            token_requests.update(company.token_requests)
        together.update(
            create_calls={k: dict(v) for k, v in create_calls.items()},
            token_requests=dict(token_requests),
            throttled=sum(c.throttled for c in self.companies.values()),
            companies=companies,
        )
        return together

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        return Response(404, {"error": f"No sandbox action {action!r} for visma"})

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return self._too_many(1.0, state)
        if kind == "502":
            return Response(
                502,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
                {"Content-Type": "text/html"},
            )
        return error(500, UNKNOWN_ERROR, "An unexpected error occurred.")

    def _too_many(self, wait: float, state: SandboxState) -> Response:
        limit = state.options.rate_limit
        return error(
            429,
            TOO_MANY_REQUESTS,
            f"Too many requests. The limit is {limit} requests per minute per client and endpoint.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        if self.is_token_path(request.path):
            return self._token(request, state)
        claims = read_token(bearer(request), "visma-access")
        with state.lock:
            company = self.companies.get(claims["co"]) if claims else None
            if company is None:
                return error(
                    401,
                    NOT_AUTHORIZED,
                    "AuthorizationException - Authorization has been denied for this request.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            endpoint = _ID_SEGMENT.sub("/{id}", request.path.lower())
            wait = state.rate_limiter.retry_after(
                (claims["cid"], endpoint), state.options.rate_limit, state.options.rate_window_s
            )
            if wait is not None:
                company.throttled += 1
                return self._too_many(wait, state)
            try:
                return self._route(request, company, state)
            except ODataError as exc:
                return error(400, DATA_MODEL_VALIDATION, f"Invalid $filter: {exc}")

    def _route(self, request: Request, company: Company, state: SandboxState) -> Response:
        parts = request.path.lower().strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v2" or parts[1] not in COLLECTIONS:
            return error(404, RESOURCE_NOT_FOUND, f"No endpoint {request.path}")
        collection = parts[1]
        if request.method == "GET" and len(parts) == 2:
            return self._list(company.data[collection], request)
        if request.method == "GET" and len(parts) == 3:
            found = company.find(collection, parts[2])
            return Response(200, found) if found else _not_found(collection, parts[2])
        if request.method == "POST":
            try:
                body = request.json()
            except ValueError:
                return error(400, DATA_MODEL_VALIDATION, "The request body is not valid JSON.")
            if parts[1:] == ["customers"]:
                return self._create_customer(body, company, state)
            if parts[1:] == ["customerinvoicedrafts"]:
                return self._create_draft(body, company, state)
            if len(parts) == 4 and parts[1] == "customerinvoicedrafts" and parts[3] == "convert":
                return self._convert(parts[2], body, company, state)
        return error(
            405, RESOURCE_NOT_FOUND, f"{request.method} is not supported on {request.path}"
        )

    def _list(self, items: list[dict[str, Any]], request: Request) -> Response:
        try:
            page = int(request.query.get("$page") or 1)
            size = int(request.query.get("$pagesize") or 50)
        except ValueError:
            return error(400, DATA_MODEL_VALIDATION, "$page and $pagesize must be whole numbers.")
        if page < 1 or not 1 <= size <= 1000:
            return error(400, DATA_MODEL_VALIDATION, "$page must be ≥ 1 and $pagesize 1–1000.")
        expression = request.query.get("$filter", "")
        matching = [i for i in items if odata_filter(expression)(i)] if expression else list(items)
        total = len(matching)
        return Response(
            200,
            {
                "Meta": {
                    "CurrentPage": page,
                    "PageSize": size,
                    "TotalNumberOfPages": math.ceil(total / size),
                    "TotalNumberOfResults": total,
                    "ServerTimeUtc": now_utc(),
                },
                "Data": matching[(page - 1) * size : page * size],
            },
        )

    # --- OAuth ---------------------------------------------------------------------------------

    def _token(self, request: Request, state: SandboxState) -> Response:
        if request.method != "POST":
            return Response(405, {"error": "invalid_request"})
        form = request.form()
        client_id, secret = _client_auth(request, form)
        with state.lock:
            known = self.clients.get(client_id)
            if known is None or known[0] != secret:
                return Response(401, {"error": "invalid_client"})
            company = self.companies[known[1]]
            if form.get("grant_type") != "refresh_token":
                return Response(400, {"error": "unsupported_grant_type"})
            claims = read_token(form.get("refresh_token", ""), "visma-refresh")
            current = self.current_refresh.get(client_id)
            if (
                claims is None
                or claims.get("cid") != client_id
                or (current is not None and claims.get("jti") != current)
            ):
                company.token_requests["invalid_grant"] += 1
                return Response(400, {"error": "invalid_grant"})
            jti = state.new_id()
            self.current_refresh[client_id] = jti
            company.token_requests["refresh_token"] += 1
            return Response(
                200,
                {
                    "access_token": mint_token(
                        "visma-access",
                        cid=client_id,
                        co=company.key,
                        jti=jti,
                        exp=int(time.time()) + TOKEN_LIFETIME,
                    ),
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME,
                    "refresh_token": mint_token(
                        "visma-refresh", cid=client_id, co=company.key, jti=jti
                    ),
                    "scope": SCOPES,
                },
                {"Cache-Control": "no-store"},
            )

    # --- writes --------------------------------------------------------------------------------

    def _create_customer(self, body: Any, company: Company, state: SandboxState) -> Response:
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
        if number and any(c["CustomerNumber"].lower() == number.lower() for c in customers):
            return validation_error(
                [("CustomerNumber", f"A customer with CustomerNumber {number} already exists.")],
                CONFLICT,
            )
        if not number:
            numbers = [int(c["CustomerNumber"]) for c in customers if c["CustomerNumber"].isdigit()]
            number = str(max(numbers, default=0) + 1)
        customer = {
            **body,
            "Id": state.new_id(),
            "CustomerNumber": number,
            "CurrencyCode": body.get("CurrencyCode") or "SEK",
            "TermsOfPayment": terms,
            "PayToAccountId": demo_data.stable_id("visma", company.key, "account", 1510),
            "ChangedUtc": now_utc(),
        }
        customers.append(customer)
        company.create_calls["customers"][number] += 1
        return Response(201, customer)

    def _create_draft(self, body: Any, company: Company, state: SandboxState) -> Response:
        if not isinstance(body, dict):
            return validation_error([("customerInvoiceDraft", "The request body is required.")])
        problems = check_fields(body, DRAFT_REQUIRED, DRAFT_MAX)
        customer = company.find("customers", str(body.get("CustomerId") or ""))
        if not problems and customer is None:
            problems = [("CustomerId", "The customer does not exist.")]
        if body.get("RotReducedInvoicingType") not in (None, 0, 1, 2):
            problems.append(
                ("RotReducedInvoicingType", "RotReducedInvoicingType must be 0, 1 or 2.")
            )
        rows = body.get("Rows") or []
        if not isinstance(rows, list):
            problems.append(("Rows", "Rows must be a list."))
            rows = []
        priced_rows = []
        for index, row in enumerate(rows):
            row_problems, priced = self._price_row(row, index, company)
            problems.extend(row_problems)
            priced_rows.append(priced)
        if problems:
            return validation_error(problems)
        net = sum((r["_net"] for r in priced_rows), Decimal("0"))
        vat = sum((r["_vat"] for r in priced_rows), Decimal("0"))
        draft = {
            **body,
            "Id": state.new_id(),
            "CreatedUtc": now_utc(),
            "IsCreditInvoice": bool(body.get("IsCreditInvoice", False)),
            "Rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in priced_rows],
            "CustomerNumber": customer["CustomerNumber"],
            "InvoiceCurrencyCode": customer.get("CurrencyCode") or "SEK",
            "IncludesVat": False,
            "TotalAmount": net + vat,
            "TotalVatAmount": vat,
            "TotalRoundings": Decimal("0.00"),
            "TotalAmountBaseCurrency": net + vat,
            "TotalVatAmountBaseCurrency": vat,
        }
        company.data["customerinvoicedrafts"].append(draft)
        company.create_calls["customerinvoicedrafts"][
            str(body.get("YourReference") or draft["Id"])
        ] += 1
        return Response(201, draft)

    def _price_row(self, row: Any, index: int, company: Company) -> tuple[list, dict[str, Any]]:
        prefix = f"Rows[{index}]."
        if not isinstance(row, dict):
            return [(f"Rows[{index}]", "A row must be an object.")], {"_net": 0, "_vat": 0}
        problems = check_fields(row, ROW_REQUIRED, ROW_MAX, prefix)
        line = row.get("LineNumber")
        if isinstance(line, (int, Decimal)) and not 0 <= line <= 1000:
            problems.append((prefix + "LineNumber", "LineNumber must be between 0 and 1000."))
        priced = {**row, "_net": Decimal("0"), "_vat": Decimal("0")}
        if row.get("IsTextRow"):
            return problems, priced
        article = company.find("articles", str(row.get("ArticleId") or ""))
        if article is None:
            problems.append(
                (
                    prefix + "ArticleId",
                    "ArticleId is required and must exist when IsTextRow is false.",
                )
            )
            return problems, priced
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
        net = _money(quantity * price * (1 - discount))
        priced.update(
            {
                "UnitPrice": price,
                "Quantity": quantity,
                "DiscountPercentage": discount,
                "ArticleNumber": article["Number"],
                "UnitAbbreviation": article["UnitAbbreviation"],
                "VatRateId": coding.get("Id", ""),
                "_net": net,
                "_vat": _money(net * rate / 100),
            }
        )
        return problems, priced

    def _convert(self, draft_id: str, body: Any, company: Company, state: SandboxState) -> Response:
        draft = company.find("customerinvoicedrafts", draft_id)
        if draft is None:
            return _not_found("customerinvoicedrafts", draft_id)
        checks = body if isinstance(body, dict) else {}
        for field, actual in (
            ("TotalAmountInvoiceCurrency", draft["TotalAmount"]),
            ("TotalVatAmountInvoiceCurrency", draft["TotalVatAmount"]),
        ):
            if checks.get(field) is not None and Decimal(str(checks[field])) != actual:
                return validation_error([(field, f"{field} does not match the draft ({actual}).")])
        customer = company.find("customers", draft["CustomerId"]) or {}
        days = int((customer.get("TermsOfPayment") or {}).get("NumberOfDays") or 30)
        invoice_date = datetime.date.fromisoformat(str(draft.get("InvoiceDate") or now_utc())[:10])
        invoice = {key: draft.get(key) for key in COPIED_TO_INVOICE}
        invoice.update(
            {
                "Id": state.new_id(),
                "InvoiceNumber": company.next_invoice_number,
                "InvoiceDate": invoice_date.isoformat(),
                "DueDate": (invoice_date + datetime.timedelta(days=days)).isoformat(),
                "CurrencyCode": draft.get("InvoiceCurrencyCode") or "SEK",
                "TotalAmountInvoiceCurrency": draft["TotalAmount"],
                "TotalVatAmountInvoiceCurrency": draft["TotalVatAmount"],
                "RemainingAmount": draft["TotalAmount"],
                "RemainingAmountInvoiceCurrency": draft["TotalAmount"],
                "TermsOfPaymentId": customer.get("TermsOfPaymentId"),
                "CustomerEmail": customer.get("EmailAddress", ""),
                "CreatedUtc": now_utc(),
                "ModifiedUtc": now_utc(),
            }
        )
        company.next_invoice_number += 1
        company.data["customerinvoicedrafts"].remove(draft)
        company.data["customerinvoices"].append(invoice)
        company.create_calls["customerinvoices"][
            str(draft.get("YourReference") or invoice["Id"])
        ] += 1
        return Response(200, invoice)


def _not_found(collection: str, object_id: str) -> Response:
    return error(
        404, RESOURCE_NOT_FOUND, f"ResourceNotFound - {collection} {object_id} was not found."
    )


def _client_auth(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """Client credentials from HTTP Basic (what Visma documents) or from the form body."""
    header = request.header("Authorization")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")
