"""What every API client shares: one session, a timeout on every call, typed errors, a redacted
record of each exchange, retries of safe reads, and OAuth tokens cached on the Connection.

The rule that shapes this module: a write whose outcome we cannot know (timeout, response lost)
is never retried here. It surfaces as OutcomeUnknown, and the engine searches by the natural key
before it creates again. Only GETs, which change nothing, are retried.

A client whose API has a request limit declares it (`RATE_LIMIT`); every request then waits for
its turn in the limiter all workers share (shops.clients.ratelimit), and a 429 from the remote
side holds back every worker on that endpoint for the Retry-After it names.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from urllib3.exceptions import NewConnectionError

from shops.clients import ratelimit
from shops.clients.errors import (
    ApiError,
    AuthExpired,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RemoteDown,
    ValidationFailed,
)
from shops.models import Connection
from shops.redaction import redact, redact_text

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 4096
# Renew a cached token this long before it expires, so a request never races the expiry.
TOKEN_MARGIN_SECONDS = 60
# Path segments that are ids, not endpoints: UUIDs and numbers count as one endpoint "{id}".
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|\d+)$")


def endpoint_of(path: str) -> str:
    """The endpoint a path belongs to, as rate limits count it: lower case, ids replaced."""
    path = urlsplit(path).path.lower()
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


@dataclass
class Exchange:
    """One request and its response, redacted, for the job log support staff read."""

    method: str
    url: str
    status: int | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    response_body: str = ""
    duration_ms: int = 0
    error: str = ""

    def __post_init__(self) -> None:
        # The bodies are redacted when someone reads the exchange (as_dict), not on every call:
        # redacting a 200 KB page of orders costs more than fetching it, and almost every
        # exchange is thrown away unread.
        self._unredacted: tuple[Any, str] | None = None

    def defer_bodies(self, request_body: Any, response_text: str) -> None:
        self._unredacted = (request_body, response_text)

    def as_dict(self) -> dict[str, Any]:
        if self._unredacted is not None:
            request_body, response_text = self._unredacted
            self._unredacted = None
            self.request_body = _redacted_body(request_body)
            self.response_body = _redacted_text(response_text)
        return asdict(self)


def _redacted_body(body: Any) -> Any:
    if body is None or body == b"" or body == "":
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            return redact(json.loads(body))
        except ValueError:
            # Form bodies (OAuth token requests) carry secrets as key=value pairs.
            if "=" in body and " " not in body:
                return redact(dict(parse_qsl(body, keep_blank_values=True)))
            return redact_text(body)[:MAX_BODY_CHARS]
    return redact(body)


def _redacted_text(text: str) -> str:
    try:
        text = json.dumps(redact(json.loads(text)), ensure_ascii=False)
    except ValueError:
        text = redact_text(text)
    return text[:MAX_BODY_CHARS]


def _never_reached_server(exc: BaseException) -> bool:
    """True when the connection was never made (refused, DNS): the request surely did nothing.
    A connection that broke after the request was sent is a different thing: a write may have
    happened."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        if isinstance(current, BaseException):
            stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
            stack.extend(a for a in current.args if isinstance(a, BaseException))
    return False


class ApiClient:
    """Base of every client. Subclasses set `system` and implement the auth hooks they need."""

    system: ClassVar[str] = ""
    # Reads are retried on RemoteDown/RateLimited: attempts in all, and the pause before each retry.
    GET_ATTEMPTS: ClassVar[int] = 3
    RETRY_BACKOFF: ClassVar[tuple[float, ...]] = (0.5, 1.5)
    # A Retry-After longer than this is not slept through in a worker: the job is rescheduled.
    MAX_RETRY_AFTER: ClassVar[float] = 10.0
    # The API's request limit (None: none known), shared by all workers; settings.RATE_LIMITS
    # can override it per platform. See shops.clients.ratelimit.
    RATE_LIMIT: ClassVar[ratelimit.Limit | None] = None
    # How long a request may wait for its turn before RateLimited sends the job back to the queue.
    RATE_LIMIT_MAX_WAIT: ClassVar[float] = 30.0

    def __init__(self, connection: Connection, *, timeout: float | None = None) -> None:
        self.connection = connection
        self.base_url = connection.base_url.rstrip("/")
        self.timeout = settings.HTTP_TIMEOUT if timeout is None else timeout
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "integrator/1"})
        self.last_exchange: Exchange | None = None

    # --- hooks for subclasses ------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; may fetch or refresh a token first."""
        return {}

    def handle_unauthorized(self, rejected_headers: dict[str, str]) -> bool:
        """Called on a 401. Return True when new credentials were obtained and the request is
        worth one more try; False means the authorisation is gone."""
        return False

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        """(message, field) from an error response body, in the vendor's own format."""
        return response.text[:300] or response.reason, ""

    def rate_limit_key(self, method: str, path: str) -> str:
        """The counter a request counts against. By default the API host and the endpoint (a
        tenant's own host has its own limit); Visma overrides it, since it counts per API
        client, whichever company the token is for."""
        host = urlsplit(self.base_url).netloc.lower()
        return f"{self.connection.platform}|{host}|{endpoint_of(self.url(path))}"

    def rate_limit_tenant(self) -> str:
        """Who a request is for, as fairness counts it: the customer, not the connection (one
        customer's two connections share one share)."""
        return f"c{self.connection.customer_id}"

    # --- requests ------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send an authenticated request; return the decoded JSON body (None when empty)."""
        method = method.upper()
        attempts = self.GET_ATTEMPTS if method == "GET" else 1
        refreshed = False
        attempt = 0
        limit = ratelimit.configured_limit(self.connection.platform, self.RATE_LIMIT)
        limit_key = self.rate_limit_key(method, path) if limit else ""
        while True:
            attempt += 1
            headers = self.auth_headers()
            if limit:
                ratelimit.acquire(
                    limit_key,
                    self.rate_limit_tenant(),
                    limit,
                    max_wait=self.RATE_LIMIT_MAX_WAIT,
                )
            try:
                response = self.send(
                    method, self.url(path), params=params, json=json_body, headers=headers
                )
                if response.status_code == 401 and not refreshed:
                    # The token may have been revoked or rotated elsewhere: one refresh, one retry.
                    refreshed = True
                    if self.handle_unauthorized(headers):
                        attempt -= 1
                        continue
                self.raise_for_status(response)
                return self._decoded(response)
            except (RemoteDown, RateLimited) as exc:
                if limit and isinstance(exc, RateLimited) and exc.exchange:
                    # The remote side is counting differently (or someone else uses our API
                    # client): every worker holds back, not only this one.
                    ratelimit.backend().block(limit_key, exc.retry_after)
                if method != "GET" or attempt >= attempts:
                    raise
                pause = self.RETRY_BACKOFF[min(attempt - 1, len(self.RETRY_BACKOFF) - 1)]
                if isinstance(exc, RateLimited):
                    if exc.retry_after > self.MAX_RETRY_AFTER:
                        raise
                    pause = max(pause, exc.retry_after)
                logger.info("%s %s: %s, retrying in %.1f s", method, path, exc.message, pause)
                time.sleep(pause)

    def _decoded(self, response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{self.system} answered {response.status_code} with a body that is not JSON",
                exchange=self.last_exchange.as_dict() if self.last_exchange else None,
            ) from None

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with the timeout, recorded as `last_exchange`. Transport failures become
        typed errors; HTTP error statuses are left to `raise_for_status`."""
        is_write = method.upper() != "GET"
        started = time.monotonic()
        exchange = Exchange(method=method, url=redact_text(url))
        self.last_exchange = exchange
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.RequestException as exc:
            kind, message = self._classify(exc, is_write=is_write)
            raise self._transport_error(kind, message, exc, started) from exc
        exchange.status = response.status_code
        exchange.request_headers = redact(dict(response.request.headers))
        exchange.defer_bodies(response.request.body, response.text)
        exchange.duration_ms = int((time.monotonic() - started) * 1000)
        return response

    def _classify(
        self, exc: requests.exceptions.RequestException, *, is_write: bool
    ) -> tuple[type[ApiError], str]:
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _never_reached_server(exc):
            return RemoteDown, f"Could not connect to {self.system}"
        if isinstance(exc, requests.exceptions.Timeout):
            if is_write:
                return OutcomeUnknown, (
                    f"{self.system} did not answer in time; the write may have happened"
                )
            return RemoteDown, f"{self.system} did not answer in time"
        if isinstance(exc, requests.exceptions.ConnectionError):
            if is_write:
                return OutcomeUnknown, (
                    f"The connection to {self.system} broke; the write may have happened"
                )
            return RemoteDown, f"{self.system} is unreachable"
        # A malformed URL, too many redirects: our configuration, not the remote side.
        return ApiError, f"Request to {self.system} failed: {type(exc).__name__}"

    def _transport_error(
        self, kind: type[ApiError], message: str, exc: Exception, started: float
    ) -> ApiError:
        exchange = self.last_exchange
        assert exchange is not None
        exchange.error = redact_text(f"{type(exc).__name__}: {exc}")[:500]
        exchange.duration_ms = int((time.monotonic() - started) * 1000)
        request = getattr(exc, "request", None)
        if request is not None:
            exchange.request_headers = redact(dict(request.headers))
            exchange.request_body = _redacted_body(request.body)
        return kind(message, exchange=exchange.as_dict())

    def raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        exchange = self.last_exchange.as_dict() if self.last_exchange else None
        message, field_name = self.error_details(response)
        prefix = f"{self.system} answered {status}: "
        if status == 429:
            raise RateLimited(
                prefix + message, retry_after=_retry_after(response), exchange=exchange
            )
        if status in (401, 403):
            # 401 here means a refresh was already tried; 403 means the merchant's account lacks
            # a module or scope. Either way only the merchant can fix it.
            raise AuthExpired(prefix + message, exchange=exchange)
        if status == 404:
            raise NotFound(prefix + message, exchange=exchange)
        if status >= 500:
            raise RemoteDown(prefix + message, exchange=exchange)
        if status in (400, 409, 422):
            raise ValidationFailed(prefix + message, field=field_name, exchange=exchange)
        raise ApiError(prefix + message, exchange=exchange)

    # --- OAuth tokens cached in the Connection's credentials -------------------------------------

    def cached_access_token(self) -> str:
        """A valid access token, fetching a new one (under a lock) when the cached one is about
        to expire."""
        credentials = self.connection.credentials
        token = credentials.get("access_token", "")
        if token and float(credentials.get("expires_at") or 0) > time.time() + TOKEN_MARGIN_SECONDS:
            return token
        self.renew_token(stale_token=token)
        return self.connection.credentials["access_token"]

    def renew_token(self, *, stale_token: str) -> None:
        """Get a new token unless another worker already did.

        Many workers on many machines share one Connection. Visma rotates refresh tokens: if two
        workers refreshed at once, one of them would store a refresh token the other has already
        used up, and the merchant would have to reconnect. So the refresh happens inside a
        transaction holding the row lock, and the credentials are re-read after taking it."""
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=self.connection.pk)
            credentials = locked.credentials
            current = credentials.get("access_token", "")
            fresh = float(credentials.get("expires_at") or 0) > time.time() + TOKEN_MARGIN_SECONDS
            if not (current and current != stale_token and fresh):
                changes = self.fetch_token(credentials)
                locked.update_credentials(**changes)
        self.connection.credentials_encrypted = locked.credentials_encrypted

    def fetch_token(self, credentials: dict[str, Any]) -> dict[str, Any]:
        """Ask the token endpoint for a new token; return the credential changes to store."""
        raise NotImplementedError

    def post_token_request(
        self, token_url: str, form: dict[str, str], *, auth: tuple[str, str] | None = None
    ) -> dict[str, Any]:
        """POST an OAuth2 token request (form encoded). invalid_grant / invalid_client mean the
        merchant must reconnect."""
        response = self.send(
            "POST", token_url, data=form, auth=auth, headers={"Accept": "application/json"}
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (400, 401) and body.get("error") in (
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
        ):
            raise AuthExpired(
                f"{self.system} refused the authorisation ({body['error']}): the merchant must "
                "reconnect.",
                exchange=self.last_exchange.as_dict() if self.last_exchange else None,
            )
        self.raise_for_status(response)
        if not body.get("access_token"):
            raise ApiError(
                f"{self.system} token response had no access token",
                exchange=self.last_exchange.as_dict() if self.last_exchange else None,
            )
        return body


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 1.0
