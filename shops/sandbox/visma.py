"""Visma eEkonomi (eAccounting API v2) as the sandbox serves it under /visma.

Faithful where our clients depend on it: OAuth2 (GET /connect/authorize, auto-approving and
redirecting back with a code; POST /connect/token for the authorization-code grant and for
rotating refresh tokens), 401 for expired or unknown access tokens, the {Meta, Data} list
envelope with $page/$pagesize and $filter, the required fields and maximum lengths of the swagger
(specs/visma-eaccounting-v2), the error body {ErrorCode, DeveloperErrorMessage, ErrorId} (plus
Errors[] naming each Field), 403 "No access to module" for /v2/orders in a company without the
order module, locked periods (FiscalYearDoesNotExist, or a date on or before AccountingLockedTo
or in a fiscal year locked for accounting), and the 600 requests/minute limit per API client and
endpoint (429, ErrorCode 4010). Writes: see visma_resources.py.

Companies are told apart by the OAuth client: each demo client belongs to one company.
A refresh token is valid until it has been used once; after a sandbox restart, the first
correctly signed refresh token a client presents is accepted, so stored demo credentials survive
restarts. An authorization code is valid once, for five minutes, for its redirect_uri.

Test hooks (POST /_sandbox/visma/<action>, body {"company": tenant, …}):
- articles {"articles": [{"Number", "Name", "NetPrice", "VatRate"}]}: add or change articles, as
  the merchant would in Visma (not counted as our create calls);
- company {"ActivatedModules"?, "AccountingLockedTo"?, "ProductVariant"?}: change the company's
  settings (ProductVariant 5 is Pro, the variant with sales price lists);
- expire_tokens {}: every access token issued for the company so far expires now (as when Visma
  ends a session early): the next call with one is a 401, and a refresh gets a working one;
- orders {"YourReference" | "Id", "Status", "ShippedDateTime"?, "DeliveryMethodName"?}: the
  merchant moves an order on and says how it was sent;
- salesprices {"list": name, "prices": [{"Number", "NetPrice"}]}: the merchant sets prices on a
  sales price list (NetPrice null takes the article off the list);
- currencyrates {"rates": {"EUR": "11.50"}}: Visma's automatic rate (SEK per unit) that new
  invoices in that currency get (visma_store.CURRENCY_RATES until changed).

Invoices in another currency than SEK carry their amounts twice, as Visma does: TotalAmount,
TotalVatAmount and RemainingAmount in SEK (the invoice's amount × CurrencyRate, to the öre) and
the *InvoiceCurrency ones in its CurrencyCode. A payment's PaymentAmount is in the invoice's
currency and lowers both remaining amounts (SEK at the invoice's rate, to nothing with the last
payment); its DomesticPaymentAmount minus that is the exchange difference Visma books.

Sales price lists (Pro), cost centres and notes: GET /v2/salespricelists[/{id}],
/v2/salespricelists/prices[/{listId}[/{articleId}]] (403 for a company that is not Pro),
/v2/costcenters (a row's CostCenterItemId1 must be an active item of cost centre 1, else 400
naming Rows[i].CostCenterItemId1), GET and POST /v2/notes.
"""

from __future__ import annotations

import base64
import math
import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from shops.sandbox import demo_data
from shops.sandbox import visma_resources as resources
from shops.sandbox import visma_sales as sales
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
from shops.sandbox.visma_schema import (
    DATA_MODEL_VALIDATION,
    NOT_AUTHORIZED,
    ORDER_MODULE,
    RESOURCE_NOT_FOUND,
    TOO_MANY_REQUESTS,
    UNKNOWN_ERROR,
    endpoint,
    error,
    no_module,
    not_found,
    not_pro,
)
from shops.sandbox.visma_store import LISTED, SNAPSHOT_COLLECTIONS, Company

TOKEN_LIFETIME = 3600
CODE_LIFETIME = 300
SCOPES = "ea:api offline_access ea:sales ea:accounting"


class VismaSandbox:
    name = "visma"

    def reset(self, state: SandboxState) -> None:
        self.companies: dict[str, Company] = {}
        self.clients: dict[str, tuple[str, str]] = {}  # client_id -> (secret, company)
        # The one refresh token (by jti) each client may still use; absent = not known yet.
        self.current_refresh: dict[str, str] = {}
        self.used_codes: set[str] = set()
        # Per company: access tokens issued at or before this time are expired (expire_tokens).
        self.expired_before: dict[str, float] = {}
        for tenant in demo_data.VISMA_TENANTS:
            self.companies[tenant] = Company.demo(tenant)
            credentials = demo_data.DEMO_CREDENTIALS["visma"][tenant]
            self.clients[credentials["client_id"]] = (credentials["client_secret"], tenant)

    def is_token_path(self, path: str) -> bool:
        return path.rstrip("/").lower() in ("/connect/token", "/connect/authorize")

    def snapshot(self) -> dict[str, Any]:
        """All companies together (each object tagged with "_company"; calls summed, which is
        safe because our natural keys carry the shop's id), and each company on its own."""
        companies = {key: company.snapshot() for key, company in self.companies.items()}
        together: dict[str, Any] = {
            name: [{**o, "_company": key} for key, c in companies.items() for o in c[name]]
            for name in (*SNAPSHOT_COLLECTIONS, "vouchers", "payments")
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
        path = request.path.rstrip("/").lower()
        if path == "/connect/token":
            return self._token(request, state)
        if path == "/connect/authorize":
            return self._authorize(request, state)
        claims = read_token(bearer(request), "visma-access")
        with state.lock:
            company = self.companies.get(claims["co"]) if claims else None
            if company is None or claims is None or self._expired_early(claims):
                return error(
                    401,
                    NOT_AUTHORIZED,
                    "AuthorizationException - Authorization has been denied for this request.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            wait = state.rate_limiter.retry_after(
                (claims["cid"], endpoint(request.path)),
                state.options.rate_limit,
                state.options.rate_window_s,
            )
            if wait is not None:
                company.throttled += 1
                return self._too_many(wait, state)
            try:
                return self._route(request, company, state)
            except ODataError as exc:
                return error(400, DATA_MODEL_VALIDATION, f"Invalid $filter: {exc}")

    def _expired_early(self, claims: dict[str, Any]) -> bool:
        expired_before = self.expired_before.get(claims["co"])
        return expired_before is not None and float(claims.get("iat") or 0) <= expired_before

    def _route(self, request: Request, company: Company, state: SandboxState) -> Response:
        parts = request.path.strip("/").split("/")
        lower = [p.lower() for p in parts]
        if len(parts) < 2 or lower[0] != "v2":
            return error(404, RESOURCE_NOT_FOUND, f"No endpoint {request.path}")
        resource, rest = lower[1], parts[2:]
        if resource == "orders" and not company.has_module(ORDER_MODULE):
            return no_module(ORDER_MODULE)
        if resource == "salespricelists" and not company.is_pro():
            return not_pro()
        if request.method == "GET":
            return self._read(resource, rest, request, company)
        body: Any = None
        if request.method in ("POST", "PUT"):
            try:
                body = request.json()
            except ValueError:
                return error(400, DATA_MODEL_VALIDATION, "The request body is not valid JSON.")
        route = (request.method, resource, len(rest), rest[-1].lower() if len(rest) == 2 else "")
        handlers: dict[tuple[str, str, int, str], Any] = {
            ("POST", "customers", 0, ""): lambda: resources.create_customer(body, company, state),
            ("POST", "articles", 0, ""): lambda: resources.save_article(body, company, state),
            ("PUT", "articles", 1, ""): lambda: resources.save_article(
                body, company, state, rest[0]
            ),
            ("POST", "customerinvoicedrafts", 0, ""): lambda: resources.create_draft(
                body, company, state
            ),
            ("POST", "customerinvoicedrafts", 2, "convert"): lambda: resources.convert_draft(
                rest[0], body, company, state
            ),
            ("POST", "customerinvoices", 2, "payments"): lambda: resources.pay_invoice(
                rest[0], body, company, state
            ),
            ("POST", "orders", 0, ""): lambda: resources.create_order(body, company, state),
            ("POST", "orders", 2, "convert"): lambda: resources.convert_order(
                rest[0], company, state
            ),
            ("POST", "vouchers", 0, ""): lambda: resources.create_voucher(body, company, state),
            ("POST", "webhooks", 0, ""): lambda: resources.create_webhook(body, company, state),
            ("POST", "notes", 0, ""): lambda: sales.create_note(body, company, state),
            ("DELETE", "webhooks", 1, ""): lambda: self._delete(company, "webhooks", rest[0]),
        }
        handler = handlers.get(route)
        if handler is None:
            return error(
                405, RESOURCE_NOT_FOUND, f"{request.method} is not supported on {request.path}"
            )
        return handler()

    def _read(self, resource: str, rest: list[str], request: Request, company: Company) -> Response:
        if resource == "companysettings" and not rest:
            return Response(200, company.settings)
        if resource == "vatcodes" and not rest:
            return Response(200, company.vat_codes)  # a bare array, as the swagger says
        if resource == "accounts":
            return self._accounts(rest, request, company)
        if resource == "salespricelists" and rest and rest[0].lower() == "prices":
            return sales.read_prices(rest[1:], company, lambda rows: self._list(rows, request))
        if resource == "vouchers":
            years = company.vouchers
            if not rest:
                return self._list([v for year in years.values() for v in year], request)
            if rest[0].lower() not in years:
                return not_found("fiscalyears", rest[0])
            vouchers = years[rest[0].lower()]
            if len(rest) == 1:
                wanted = vouchers.matching(request.query.get("$filter", ""))
                return self._list(wanted, request, filtered=True)
            found = vouchers.find(rest[1])
            return Response(200, found) if found else not_found("vouchers", rest[1])
        if resource not in LISTED:
            return error(404, RESOURCE_NOT_FOUND, f"No endpoint {request.path}")
        if not rest:
            matching = company.data[resource].matching(request.query.get("$filter", ""))
            return self._list(matching, request, filtered=True)
        found = company.find(resource, rest[0]) if len(rest) == 1 else None
        return Response(200, found) if found else not_found(resource, rest[0])

    def _accounts(self, rest: list[str], request: Request, company: Company) -> Response:
        # Without a fiscal year: the current one, i.e. the latest open one.
        open_years = [y for y in company.data["fiscalyears"] if not y["IsLockedForAccounting"]]
        year_id = rest[0].lower() if rest else (open_years[0]["Id"] if open_years else "")
        accounts = [a for a in company.accounts if a["FiscalYearId"].lower() == year_id.lower()]
        if rest and company.find("fiscalyears", rest[0]) is None:
            return not_found("fiscalyears", rest[0])
        if len(rest) == 2:
            found = next((a for a in accounts if a["Number"] == rest[1]), None)
            return Response(200, found) if found else not_found("accounts", rest[1])
        return self._list(accounts, request)

    def _delete(self, company: Company, collection: str, object_id: str) -> Response:
        found = company.find(collection, object_id)
        if found is None:
            return not_found(collection, object_id)
        company.data[collection].remove(found)
        return Response(200, None)

    def _list(
        self, matching: list[dict[str, Any]], request: Request, *, filtered: bool = False
    ) -> Response:
        """One page of `matching` in the {Meta, Data} envelope; $filter applied unless the
        caller did it already (from an index)."""
        try:
            page = int(request.query.get("$page") or 1)
            size = int(request.query.get("$pagesize") or 50)
        except ValueError:
            return error(400, DATA_MODEL_VALIDATION, "$page and $pagesize must be whole numbers.")
        if page < 1 or not 1 <= size <= 1000:
            return error(400, DATA_MODEL_VALIDATION, "$page must be ≥ 1 and $pagesize 1–1000.")
        expression = request.query.get("$filter", "")
        if expression and not filtered:
            predicate = odata_filter(expression)
            matching = [item for item in matching if predicate(item)]
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

    def _authorize(self, request: Request, state: SandboxState) -> Response:
        """The consent page, approved at once: straight back to redirect_uri with a code."""
        query = request.query
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        with state.lock:
            known = self.clients.get(client_id)
        if request.method != "GET" or known is None or not redirect_uri:
            return Response(400, {"error": "invalid_request" if known else "invalid_client"})
        if query.get("response_type") != "code":
            return self._redirect(redirect_uri, error="unsupported_response_type", **_state(query))
        scopes = set(query.get("scope", "").split())
        if not {"ea:api", "offline_access"} <= scopes:
            return self._redirect(redirect_uri, error="invalid_scope", **_state(query))
        code = mint_token(
            "visma-code",
            cid=client_id,
            co=known[1],
            uri=redirect_uri,
            jti=state.new_id(),
            exp=int(time.time()) + CODE_LIFETIME,
        )
        return self._redirect(
            redirect_uri, code=code, scope=" ".join(sorted(scopes)), **_state(query)
        )

    @staticmethod
    def _redirect(uri: str, **params: str) -> Response:
        separator = "&" if "?" in uri else "?"
        return Response(302, None, {"Location": f"{uri}{separator}{urlencode(params)}"})

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
            grant = form.get("grant_type")
            if grant == "authorization_code":
                claims = read_token(form.get("code", ""), "visma-code")
                valid = (
                    claims is not None
                    and claims.get("cid") == client_id
                    and claims.get("uri") == form.get("redirect_uri")
                    and claims.get("jti") not in self.used_codes
                )
                if claims is not None:
                    self.used_codes.add(claims["jti"])
            elif grant == "refresh_token":
                claims = read_token(form.get("refresh_token", ""), "visma-refresh")
                current = self.current_refresh.get(client_id)
                valid = (
                    claims is not None
                    and claims.get("cid") == client_id
                    and (current is None or claims.get("jti") == current)
                )
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            if not valid:
                company.token_requests["invalid_grant"] += 1
                return Response(400, {"error": "invalid_grant"})
            jti = state.new_id()
            self.current_refresh[client_id] = jti
            company.token_requests[grant] += 1
            return Response(
                200,
                {
                    "access_token": mint_token(
                        "visma-access",
                        cid=client_id,
                        co=company.key,
                        jti=jti,
                        iat=time.time(),
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

    # --- test hooks ----------------------------------------------------------------------------

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if not isinstance(body, dict) or action not in (
            "articles",
            "orders",
            "company",
            "salesprices",
            "currencyrates",
            "expire_tokens",
        ):
            return Response(404, {"error": f"No sandbox action {action!r} for visma"})
        with state.lock:
            company = self.companies.get(str(body.get("company", "")))
            if company is None:
                return Response(400, {"error": f"Unknown company {body.get('company')!r}"})
            if action == "articles":
                return Response(
                    200,
                    {
                        "articles": [
                            _merchant_article(company, a) for a in body.get("articles") or []
                        ]
                    },
                )
            if action == "expire_tokens":
                self.expired_before[company.key] = time.time()
                return Response(200, {"expired_before": self.expired_before[company.key]})
            if action == "company":
                keys = ("ActivatedModules", "AccountingLockedTo", "ProductVariant")
                changes = {k: body[k] for k in keys if k in body}
                company.settings.update(changes)
                return Response(200, company.settings)
            if action == "salesprices":
                return sales.merchant_prices(company, body)
            if action == "currencyrates":  # {"company", "rates": {"EUR": "11.50"}}: Visma's rate
                rates = body.get("rates") or {}
                company.currency_rates.update(
                    {str(k).upper(): Decimal(str(v)) for k, v in rates.items()}
                )
                return Response(200, company.currency_rates)
            order = company.find("orders", str(body.get("Id") or "")) or next(
                iter(
                    company.data["orders"].lookup(
                        "YourReference", str(body.get("YourReference") or "")
                    )
                ),
                None,
            )
            if order is None:
                return Response(404, {"error": "No such order"})
            changes = {
                k: body[k]
                for k in ("Status", "ShippedDateTime", "DeliveryDate", "DeliveryMethodName")
                if k in body
            }
            company.data["orders"].replace(order, {**changes, "ModifiedUtc": now_utc()})
            return Response(200, order)


def _merchant_article(company: Company, given: dict[str, Any]) -> dict[str, Any]:
    """Add or replace an article by Number, as the merchant would in Visma."""
    article = demo_data.visma_article(
        company.key,
        str(given["Number"]),
        str(given.get("Name") or given["Number"]),
        Decimal(str(given.get("VatRate", 25))),
        Decimal(str(given.get("NetPrice", "0"))),
        stock=Decimal(str(given.get("StockBalance", "25"))),
        changed=now_utc(),
    )
    articles = company.data["articles"]
    existing = next(iter(articles.lookup("Number", article["Number"])), None)
    if existing is not None:
        return articles.replace(existing, {k: v for k, v in article.items() if k != "Id"})
    return articles.add(article)


def _state(query: dict[str, str]) -> dict[str, str]:
    return {"state": query["state"]} if "state" in query else {}


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
