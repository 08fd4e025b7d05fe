"""What the sandbox systems share: options, the locked in-memory state, request/response
values, signed tokens, the rate limiter and a small OData $filter evaluator.

Everything mutable lives in one SandboxState behind one lock: the server is threaded, and a test
that proves exactly-once must not be fooled by a race inside the fake world itself.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

FAULT_KINDS = ("500", "502", "429", "timeout", "drop")
REQUEST_LOG_SIZE = 500


@dataclasses.dataclass(frozen=True)
class SandboxOptions:
    faults: float = 0.0  # share of requests (0..1) that fail at random with one of FAULT_KINDS
    latency_ms: int = 0  # added to every API request
    rate_limit: int = 600  # Visma: requests per window, per API client and endpoint
    rate_window_s: float = 60.0
    timeout_sleep_s: float = 25.0  # a "timeout" fault sleeps this long: past the client timeout
    seed: int = 1
    # Generated orders added to each Jetshop demo shop at start and on every reset (volume for
    # benchmarks); deterministic by `seed`.
    jetshop_orders: int = 0

    def changed(self, **changes: Any) -> SandboxOptions:
        fields = {f.name: f.type for f in dataclasses.fields(self)}
        unknown = set(changes) - set(fields)
        if unknown:
            raise ValueError(f"Unknown sandbox option(s): {', '.join(sorted(unknown))}")
        cast = {
            "faults": float,
            "latency_ms": int,
            "rate_limit": int,
            "rate_window_s": float,
            "timeout_sleep_s": float,
            "seed": int,
            "jetshop_orders": int,
        }
        return dataclasses.replace(self, **{k: cast[k](v) for k, v in changes.items()})


# --- requests and responses -------------------------------------------------------------------


@dataclasses.dataclass
class Request:
    method: str
    path: str  # below the system's prefix, e.g. "/v2/customers"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        # Decimal, never float: the sandbox does money arithmetic on what it receives.
        return json.loads(self.body or b"null", parse_float=Decimal)

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclasses.dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain; charset=utf-8")
        return json.dumps(self.body, default=_json_default, ensure_ascii=False).encode(), (
            "application/json; charset=utf-8"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


class System(Protocol):
    """One fake external system, served under /<name>/…"""

    name: str

    def reset(self, state: SandboxState) -> None: ...

    def handle(self, request: Request, state: SandboxState) -> Response: ...

    def fault_response(self, kind: str, state: SandboxState) -> Response: ...

    def is_token_path(self, path: str) -> bool: ...

    def snapshot(self) -> dict[str, Any]: ...

    def control(self, action: str, body: Any, state: SandboxState) -> Response: ...


# --- the state --------------------------------------------------------------------------------


@dataclasses.dataclass
class ScriptedFault:
    method: str
    path_prefix: str
    kind: str


class SandboxState:
    def __init__(self, options: SandboxOptions, systems: list[System]) -> None:
        self.lock = threading.RLock()
        self.startup_options = options
        self.systems = {system.name: system for system in systems}
        self.reset()

    def reset(self) -> None:
        """Back to the deterministic demo data and the options the server started with."""
        with self.lock:
            self.options = self.startup_options
            self.rng = random.Random(self.options.seed)
            self.scripted: list[ScriptedFault] = []
            self.faults_injected: Counter[str] = Counter()
            self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
            self.rate_limiter = RateLimiter()
            for system in self.systems.values():
                system.reset(self)

    def configure(self, **changes: Any) -> SandboxOptions:
        with self.lock:
            self.options = self.options.changed(**changes)
            if "seed" in changes:
                self.rng = random.Random(self.options.seed)
            return self.options

    def script_faults(self, method: str, path_prefix: str, kinds: list[str]) -> None:
        """Make the next requests matching method and path prefix fail in the given ways, in
        order: deterministic faults for tests."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"Unknown fault kind(s): {', '.join(sorted(unknown))}")
        with self.lock:
            self.scripted.extend(ScriptedFault(method.upper(), path_prefix, k) for k in kinds)

    def pick_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for index, fault in enumerate(self.scripted):
                if fault.method in ("", "*", method) and path.startswith(fault.path_prefix):
                    del self.scripted[index]
                    self.faults_injected[fault.kind] += 1
                    return fault.kind
            if self.options.faults > 0 and self.rng.random() < self.options.faults:
                kind = self.rng.choice(FAULT_KINDS)
                self.faults_injected[kind] += 1
                return kind
            return None

    def new_id(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.request_log.append(entry)

    def snapshot(self, only: str = "") -> dict[str, Any]:
        """Everything, or with `only` the options and that one system (much smaller when a shop
        holds thousands of generated orders)."""
        with self.lock:
            data: dict[str, Any] = {
                "options": dataclasses.asdict(self.options),
                "faults_injected": dict(self.faults_injected),
            }
            for name, system in self.systems.items():
                if not only or name == only:
                    data[name] = system.snapshot()
            return json.loads(json.dumps(data, default=_json_default))


# --- tokens -----------------------------------------------------------------------------------

# Tokens are signed rather than only remembered, so credentials stored by `seed_demo` keep working
# after the sandbox restarts. This key protects nothing: the sandbox is a test instrument.
_TOKEN_KEY = b"integrator-sandbox-token-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(kind: str, **claims: Any) -> str:
    payload = _b64(json.dumps({"kind": kind, **claims}, sort_keys=True).encode())
    signature = _b64(hmac.new(_TOKEN_KEY, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def read_token(token: str, kind: str) -> dict[str, Any] | None:
    """The claims of a token we signed, of the given kind; None if forged, garbled or expired."""
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(_TOKEN_KEY, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if claims.get("kind") != kind:
        return None
    if "exp" in claims and float(claims["exp"]) <= time.time():
        return None
    return claims


def bearer(request: Request) -> str:
    value = request.header("Authorization")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


# --- rate limiting ----------------------------------------------------------------------------


class RateLimiter:
    """A sliding window per key. Callers hold the state lock."""

    def __init__(self) -> None:
        self.hits: dict[Any, deque[float]] = {}

    def retry_after(self, key: Any, limit: int, window: float) -> float | None:
        """Record a request; return seconds to wait if it is over the limit, else None."""
        now = time.monotonic()
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.0)
        hits.append(now)
        return None


# --- OData $filter ----------------------------------------------------------------------------


class ODataError(ValueError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<lparen>\()|(?P<rparen>\))|(?P<string>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_CONSTANTS = {"true": True, "false": False, "null": None}


def parse_datetime(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    expression = expression.rstrip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise ODataError(f"Syntax error at position {position} in $filter.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def odata_filter(expression: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the subset of OData we serve: comparisons (eq ne gt ge lt le) of a field
    with a literal, joined by and/or/not and parentheses. Strings compare case-insensitively, as
    SQL Server's default collation behind these APIs does."""
    tokens = _tokens(expression)
    position = 0

    def peek() -> tuple[str, str]:
        return tokens[position] if position < len(tokens) else ("end", "")

    def take() -> tuple[str, str]:
        nonlocal position
        token = peek()
        position += 1
        return token

    def parse_or() -> Callable[[dict], bool]:
        left = parse_and()
        while peek() == ("word", "or"):
            take()
            right, prev = parse_and(), left
            left = lambda r, a=prev, b=right: a(r) or b(r)  # noqa: E731
        return left

    def parse_and() -> Callable[[dict], bool]:
        left = parse_unary()
        while peek() == ("word", "and"):
            take()
            right, prev = parse_unary(), left
            left = lambda r, a=prev, b=right: a(r) and b(r)  # noqa: E731
        return left

    def parse_unary() -> Callable[[dict], bool]:
        kind, text = peek()
        if (kind, text) == ("word", "not"):
            take()
            inner = parse_unary()
            return lambda r: not inner(r)
        if kind == "lparen":
            take()
            inner = parse_or()
            if take()[0] != "rparen":
                raise ODataError("Missing ')' in $filter.")
            return inner
        return parse_comparison()

    def parse_comparison() -> Callable[[dict], bool]:
        kind, field = take()
        op_kind, op = take()
        if kind != "word" or op_kind != "word" or op not in _OPERATORS:
            raise ODataError(f"Expected '<field> <operator> <value>' in $filter near {field!r}.")
        literal_kind, literal = take()
        value = _literal(literal_kind, literal)
        compare = _OPERATORS[op]

        def predicate(record: dict[str, Any]) -> bool:
            current: Any = record
            for part in field.split("/"):
                if not isinstance(current, dict) or part not in current:
                    raise ODataError(f"Could not find a property named '{field}'.")
                current = current[part]
            return compare(*_comparable(current, value))

        return predicate

    predicate = parse_or()
    if position != len(tokens):
        raise ODataError(f"Unexpected {peek()[1]!r} in $filter.")
    return predicate


def _literal(kind: str, text: str) -> Any:
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "datetime":
        return parse_datetime(text)
    if kind == "number":
        return Decimal(text)
    if kind == "word" and text in _CONSTANTS:
        return _CONSTANTS[text]
    raise ODataError(f"Expected a value in $filter, found {text!r}.")


def _comparable(current: Any, literal: Any) -> tuple[Any, Any]:
    if current is None or literal is None:
        return current, literal
    if isinstance(literal, datetime.datetime):
        return parse_datetime(str(current)), literal
    if isinstance(literal, bool) or isinstance(current, bool):
        return current, literal
    if isinstance(literal, Decimal):
        return Decimal(str(current)), literal
    return str(current).casefold(), str(literal).casefold()


def now_utc() -> str:
    """The time as these APIs print it: UTC, whole seconds."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
