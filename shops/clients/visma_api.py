"""The core of the Visma eEkonomi client: OAuth (authorization code, rotating refresh tokens),
Visma's error body and what its codes mean, the {Meta, Data} list envelope and the rate limit.
The resources are in shops/clients/visma.py; see its docstring for the whole picture.
"""

from __future__ import annotations

import datetime
import re
import secrets
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import requests

from shops.clients import ratelimit
from shops.clients.base import ApiClient, endpoint_of
from shops.clients.errors import ApiError, ModuleMissing, PeriodClosed
from shops.models import Connection

IDENTITY_URL = "https://identity.vismaonline.com"
TOKEN_URL = f"{IDENTITY_URL}/connect/token"
API_URL = "https://eaccountingapi.vismaonline.com"
SCOPES = "ea:api offline_access ea:sales ea:accounting"
ORDER_MODULE_HINT = (
    "Visma's order module is needed to transfer orders as orders: the merchant's Visma "
    "eEkonomi company lacks it. Activate it in Visma (or transfer orders as invoices instead)."
)
_FIELD_IN_MESSAGE = re.compile(r"The field ([\w.\[\]]+) must|The ([\w.\[\]]+) field is required")
_NO_MODULE = re.compile(r"No access to module:?\s*([\w.-]*)", re.IGNORECASE)
# What Visma says about a date nothing can be booked on (a locked period or year, or no year).
_PERIOD = re.compile(
    r"locked (?:period|for accounting)|period is (?:locked|closed)|FiscalYearDoesNotExist",
    re.IGNORECASE,
)
FISCAL_YEAR_DOES_NOT_EXIST = 3001


def odata_string(value: str) -> str:
    """An OData string literal: quotes doubled, so a name like O'Brien cannot break the filter."""
    return "'" + value.replace("'", "''") + "'"


def _odata_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_state() -> str:
    """An unguessable OAuth `state`: keep it in the session and compare it on the way back."""
    return secrets.token_urlsafe(24)


def authorize_url(
    client_id: str, redirect_uri: str, state: str, *, identity_url: str = IDENTITY_URL
) -> str:
    """Where to send the merchant to grant us access to their Visma company."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "response_type": "code",
            # Lets a merchant with several companies pick the right one.
            "prompt": "select_account",
        }
    )
    return f"{identity_url.rstrip('/')}/connect/authorize?{query}"


class VismaApi(ApiClient):
    """Auth, errors and lists; VismaClient adds the resources."""

    system = "Visma eEkonomi"
    PAGE_SIZE = 50
    RATE_LIMIT = ratelimit.Limit(requests=600, per_seconds=60)

    def __init__(self, connection: Connection, **options: Any) -> None:
        super().__init__(connection, **options)
        self._terms_of_payment_id = ""
        self._vat_rates: dict[str, Decimal] | None = None
        self._client_id = str(connection.credentials.get("client_id", ""))

    # --- auth ----------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cached_access_token()}"}

    def handle_unauthorized(self, rejected_headers: dict[str, str]) -> bool:
        stale = rejected_headers.get("Authorization", "").removeprefix("Bearer ")
        self.renew_token(stale_token=stale)
        return True

    def identity_url(self) -> str:
        # Never send a sandbox or test secret to the real identity server by accident: only the
        # real API root implies the real identity server; the sandbox serves both on one root.
        return IDENTITY_URL if self.base_url == API_URL else self.base_url

    def default_token_url(self) -> str:
        return f"{self.identity_url()}/connect/token"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        return authorize_url(self._client_id, redirect_uri, state, identity_url=self.identity_url())

    def exchange_code(self, code: str, redirect_uri: str) -> None:
        """Trade the code from the authorize redirect for tokens and store them."""
        credentials = self.connection.credentials
        body = self.post_token_request(
            credentials.get("token_url") or self.default_token_url(),
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(credentials.get("client_id", ""), credentials.get("client_secret", "")),
        )
        if not body.get("refresh_token"):
            raise ApiError(
                "Visma gave no refresh token: the offline_access scope is missing.",
                exchange=self.last_exchange.as_dict() if self.last_exchange else None,
            )
        self.connection.update_credentials(**self._token_changes(body, credentials))

    def fetch_token(self, credentials: dict[str, Any]) -> dict[str, Any]:
        body = self.post_token_request(
            credentials.get("token_url") or self.default_token_url(),
            {"grant_type": "refresh_token", "refresh_token": credentials.get("refresh_token", "")},
            auth=(credentials.get("client_id", ""), credentials.get("client_secret", "")),
        )
        return self._token_changes(body, credentials)

    @staticmethod
    def _token_changes(body: dict[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
        return {
            "access_token": body["access_token"],
            # Visma rotates: the old refresh token is dead from now on.
            "refresh_token": body.get("refresh_token") or credentials.get("refresh_token", ""),
            "expires_at": int(time.time()) + int(body.get("expires_in") or 3600),
        }

    def rate_limit_key(self, method: str, path: str) -> str:
        return f"visma|{self._client_id}|{endpoint_of(path)}"

    # --- errors --------------------------------------------------------------------------------

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

    def raise_for_status(self, response: requests.Response) -> None:
        """Visma's own meanings first: a missing module and a closed period are not the generic
        "reconnect" and "bad input" they would otherwise look like."""
        if response.status_code in (400, 403):
            message, field = self.error_details(response)
            exchange = self.last_exchange.as_dict() if self.last_exchange else None
            missing = _NO_MODULE.search(message) if response.status_code == 403 else None
            if missing:
                module = missing.group(1)
                hint = (
                    ORDER_MODULE_HINT
                    if "/v2/orders" in response.url.lower()
                    else (f"The merchant's Visma eEkonomi company lacks the module {module!r}.")
                )
                raise ModuleMissing(f"{hint} ({message})", module=module, exchange=exchange)
            if response.status_code == 400 and (
                f"ErrorCode {FISCAL_YEAR_DOES_NOT_EXIST}," in message or _PERIOD.search(message)
            ):
                raise PeriodClosed(
                    f"Visma eEkonomi refuses the date: {message}. The merchant must open the "
                    "period (or create the fiscal year) in Visma first.",
                    field=field,
                    exchange=exchange,
                )
        super().raise_for_status(response)

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
            if isinstance(body, list):  # a few endpoints (vatcodes) answer a bare array
                yield body
                return
            yield body.get("Data") or []
            meta = body.get("Meta") or {}
            if page >= int(meta.get("TotalNumberOfPages") or 0):
                return
            page += 1

    def iter_all(self, path: str, odata_filter: str = "", page_size: int = 0) -> Iterator[dict]:
        """Every object of a list endpoint, across all pages."""
        for rows in self._pages(path, odata_filter=odata_filter, page_size=page_size):
            yield from rows

    def _first(self, path: str, odata_filter: str) -> dict | None:
        for rows in self._pages(path, odata_filter=odata_filter, page_size=1):
            return rows[0] if rows else None
        return None

    @staticmethod
    def _changed_since(field: str, since: datetime.datetime | None) -> str:
        return f"{field} gt {_odata_time(since)}" if since else ""
