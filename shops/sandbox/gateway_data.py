"""Deterministic payouts for the payment-gateway sandboxes (Klarna, Stripe, PayPal, Nets, Svea).

One neutral model, a payout and the events it pays (sales, refunds, chargebacks, each with the
fee the provider keeps), that every gateway module renders in its provider's own format. The
money is decided here once, so each payout's transactions sum to its net in every format.

Demo merchant: Kaffebönan AB (tenant `kaffebonan`), a Swedish coffee shop selling coffee and tea
(food: 6 % VAT), coffee served at its café (12 %) and cups, brewers and grinders (25 %). Each
gateway gets its own range of order numbers (Klarna KB-10001…, Stripe KB-20001…, PayPal
KB-30001…, Nets KB-40001…, Svea KB-50001…), because an order is paid through one gateway.

Every payout pays one Stockholm "sales day" and reaches the bank the next day. The demo has four
payouts from 2026-11-03; the second refunds part of an earlier order, the third carries a
chargeback. `POST /_sandbox/<system>/generate {"payouts": N, "transactions_per_payout": M}` adds
N more payouts of M events each (for benchmarks), continuing the dates and order numbers.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shops.sandbox.state import Request, Response, SandboxState

KAFFEBONAN = "kaffebonan"
GATEWAY_TENANTS = (KAFFEBONAN,)
COMPANY_NAME = "Kaffebönan AB"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FIRST_SALES_DAY = datetime.date(2026, 11, 2)
DEMO_PAYOUTS = 4
DEMO_EVENTS_PER_PAYOUT = 6
MAX_GENERATED_PAYOUTS = 20_000
MAX_EVENTS_PER_PAYOUT = 2_000
MAX_GENERATED_EVENTS = 1_000_000  # the sandbox keeps everything in memory

SALE, REFUND, CHARGEBACK = "sale", "refund", "chargeback"

# Description, VAT rate, unit price incl. VAT in öre. Odd öre amounts on purpose: they prove
# that minor units are converted exactly.
PRODUCTS: tuple[tuple[str, int, int], ...] = (
    ("Kaffe Mörkrost 500 g", 6, 11900),
    ("Kaffe Ljusrost 500 g", 6, 10950),
    ("Espressobönor 1 kg", 6, 24975),
    ("Te Earl Grey 100 g", 6, 6900),
    ("Chokladbiscotti 200 g", 6, 4495),
    ("Fikapaket på kaféet", 12, 18500),
    ("Kaffekopp keramik", 25, 14900),
    ("Mokabryggare 6 koppar", 25, 39900),
    ("Handkvarn för kaffe", 25, 54950),
)
SHIPPING: tuple[str, int, int] = ("Frakt", 25, 4900)
# The merchant's article numbers, for the gateways that keep the order's lines (Klarna's Order
# Management API). Kept apart from PRODUCTS so the random picks stay what they always were.
ARTICLE_NUMBERS = {
    "Kaffe Mörkrost 500 g": "KB-KAF-MORK-500",
    "Kaffe Ljusrost 500 g": "KB-KAF-LJUS-500",
    "Kaffe Mellanrost 500 g": "KB-KAF-MELL-500",
    "Espressobönor 1 kg": "KB-ESP-1000",
    "Te Earl Grey 100 g": "KB-TE-EG-100",
    "Chokladbiscotti 200 g": "KB-BISC-200",
    "Kanelskorpor 400 g": "KB-SKORP-400",
    "Fikapaket på kaféet": "KB-CAFE-FIKA",
    "Kaffeprovning på kaféet": "KB-CAFE-PROV",
    "Fika för två på kaféet": "KB-CAFE-FIKA2",
    "Frukost på kaféet": "KB-CAFE-FRUK",
    "Kaffekopp keramik": "KB-KOPP-KER",
    "Tekopp glas": "KB-KOPP-GLAS",
    "Mokabryggare 3 koppar": "KB-MOKA-3",
    "Mokabryggare 6 koppar": "KB-MOKA-6",
    "Handkvarn för kaffe": "KB-KVARN-HAND",
    "Frakt": "FRAKT",
}
# Some buyers are companies (valid Swedish organisation numbers, made up): the gateways that
# know the buyer say so, and the booking makes the invoice out to the company.
COMPANY_BUYERS: tuple[tuple[str, str], ...] = (
    ("Kontorsfika Norden AB", "556677-8899"),
    ("Bryggargården i Malmö AB", "556789-0123"),
)
PRIVATE_BUYERS: tuple[tuple[str, str], ...] = (
    ("Anna", "Lindqvist"),
    ("Erik", "Johansson"),
    ("Sara", "Nilsson"),
    ("Oskar", "Berg"),
    ("Maja", "Holm"),
)


@dataclasses.dataclass(frozen=True)
class Line:
    description: str
    vat_rate: int
    quantity: int
    unit_price: int  # öre, including VAT

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price

    @property
    def reference(self) -> str:
        """The merchant's article number of the line."""
        return ARTICLE_NUMBERS.get(self.description, "")

    @property
    def vat(self) -> int:
        """The VAT in the line's amount, in öre, rounded half up (as the gateways state it)."""
        net = (Decimal(self.amount) * 100 / (100 + self.vat_rate)).quantize(
            Decimal(1), ROUND_HALF_UP
        )
        return self.amount - int(net)

    @property
    def net_unit_price(self) -> int:
        """The unit price excluding VAT, in öre (Nets states prices so)."""
        net = Decimal(self.unit_price) * 100 / (100 + self.vat_rate)
        return int(net.quantize(Decimal(1), ROUND_HALF_UP))


@dataclasses.dataclass(frozen=True)
class FeeModel:
    """What a provider keeps: a share of each sale plus a fixed part, and a fee per dispute."""

    percent: Decimal
    fixed: int  # öre per sale
    dispute_fee: int  # öre per chargeback

    def sale_fee(self, amount: int) -> int:
        share = (Decimal(amount) * self.percent / 100).quantize(Decimal(1), ROUND_HALF_UP)
        return int(share) + self.fixed


@dataclasses.dataclass(frozen=True)
class Event:
    kind: str  # SALE, REFUND or CHARGEBACK
    key: str  # stable and unique per provider and tenant: seeds the provider's own ids
    order_number: str
    occurred_at: datetime.datetime  # aware, UTC
    amount: int  # öre as the merchant sees it: sales positive, refunds and chargebacks negative
    fee: int  # öre the provider keeps for this event (0 when none)
    lines: tuple[Line, ...] = ()
    original_key: str = ""  # the sale a refund or chargeback undoes

    @property
    def net(self) -> int:
        return self.amount - self.fee


@dataclasses.dataclass(frozen=True)
class Payout:
    index: int
    key: str
    sales_day: datetime.date  # the Stockholm day whose events it pays
    payout_date: datetime.date  # the day the money reaches the bank
    currency: str
    events: tuple[Event, ...]

    @property
    def gross(self) -> int:
        return sum(e.amount for e in self.events)

    @property
    def fees(self) -> int:
        return sum(e.fee for e in self.events)

    @property
    def net(self) -> int:
        return self.gross - self.fees


class PayoutBook:
    """One tenant's payouts at one provider, and where to continue when more are generated."""

    def __init__(
        self, provider: str, tenant: str, fees: FeeModel, order_start: int, seed: int = 1
    ) -> None:
        self.provider, self.tenant, self.fees = provider, tenant, fees
        self.rng = random.Random(f"{provider}/{tenant}/{seed}")
        self.payouts: list[Payout] = []
        self.next_order = order_start
        self.next_day = FIRST_SALES_DAY
        # Sales of earlier payouts that a later refund or chargeback may undo (each only once).
        self.undoable: list[Event] = []

    def extend(self, count: int, per_payout: int) -> list[Payout]:
        added = []
        for _ in range(count):
            added.append(self._payout(per_payout))
            self.payouts.append(added[-1])  # the next payout's index counts this one
        return added

    def _payout(self, size: int) -> Payout:
        index, day = len(self.payouts), self.next_day
        self.next_day += datetime.timedelta(days=1)
        key = f"{self.provider}/{self.tenant}/{index}"
        times = sorted(self._moment(day) for _ in range(size))
        events: list[Event] = []
        for position, moment in enumerate(times):
            kind = SALE
            # Demo and volume alike: every third payout refunds, every fourth has a chargeback.
            if size >= 3 and self.undoable and position == size - 1 and index % 3 == 1:
                kind = REFUND
            elif size >= 3 and self.undoable and position == size - 2 and index % 4 == 2:
                kind = CHARGEBACK
            events.append(self._event(kind, f"{key}/{position}", moment))
        self.undoable.extend(e for e in events if e.kind == SALE)
        return Payout(index, key, day, day + datetime.timedelta(days=1), "SEK", tuple(events))

    def _moment(self, day: datetime.date) -> datetime.datetime:
        local = datetime.datetime.combine(
            day,
            datetime.time(
                self.rng.randint(7, 21), self.rng.randint(0, 59), self.rng.randint(0, 59)
            ),
            tzinfo=STOCKHOLM,
        )
        return local.astimezone(datetime.UTC)

    def _event(self, kind: str, key: str, moment: datetime.datetime) -> Event:
        if kind == SALE:
            lines = self._lines()
            amount = sum(line.amount for line in lines)
            order = f"KB-{self.next_order}"
            self.next_order += 1
            return Event(SALE, key, order, moment, amount, self.fees.sale_fee(amount), lines)
        original = self.undoable.pop(self.rng.randrange(len(self.undoable)))
        if kind == REFUND:
            # A partial return when the order has several lines: the first line comes back.
            lines = original.lines[:1] if len(original.lines) > 1 else original.lines
            amount = sum(line.amount for line in lines)
            return Event(
                REFUND, key, original.order_number, moment, -amount, 0, lines, original.key
            )
        return Event(
            CHARGEBACK,
            key,
            original.order_number,
            moment,
            -original.amount,
            self.fees.dispute_fee,
            original.lines,
            original.key,
        )

    def _lines(self) -> tuple[Line, ...]:
        picked = self.rng.sample(PRODUCTS, self.rng.randint(1, 3))
        lines = [Line(name, rate, self.rng.randint(1, 3), price) for name, rate, price in picked]
        if sum(line.amount for line in lines) < 50000:  # free shipping from 500 kr
            lines.append(Line(*SHIPPING[:2], 1, SHIPPING[2]))
        return tuple(lines)


def buyer(event_key: str) -> tuple[str, str, str]:
    """(given name, family name, company name or "") of a sale's buyer; company_number() gives
    a company's organisation number. Derived from the event key alone, never from the payout
    generator's random numbers, so adding buyers changed no amount and no order."""
    number = int(hex_id("buyer", event_key, length=8), 16)
    given, family = PRIVATE_BUYERS[number % len(PRIVATE_BUYERS)]
    company = COMPANY_BUYERS[number // 7 % len(COMPANY_BUYERS)][0] if number % 5 == 0 else ""
    return given, family, company


def company_number(company: str) -> str:
    return dict(COMPANY_BUYERS).get(company, "")


@dataclasses.dataclass
class SoldOrders:
    """The sales a gateway keeps as orders (Klarna, Nets, Svea), by the gateway's id of the order,
    and the refunds of each: what its order API answers about a payout row."""

    sales: dict[str, Event] = dataclasses.field(default_factory=dict)
    returns: dict[str, list[Event]] = dataclasses.field(default_factory=dict)

    def add(self, order_id: str, event: Event) -> None:
        if event.kind == SALE:
            self.sales[order_id] = event
        elif event.kind == REFUND:
            self.returns.setdefault(order_id, []).append(event)


# --- helpers the gateway modules share --------------------------------------------------------


def token(*parts: object, length: int = 24, alphabet: str = "") -> str:
    """A stable id made of `alphabet` (default: digits and letters), the same on every start."""
    alphabet = alphabet or "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(chars)


def hex_id(*parts: object, length: int = 32) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


def major(amount: int) -> str:
    """Öre as the decimal string files print ("1234.50", "-45.00")."""
    return str((Decimal(amount) / 100).quantize(Decimal("0.01")))


def iso_utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def origin(host: str) -> str:
    """The scheme and host the client used, for the absolute links these APIs return."""
    return f"http://{host or '127.0.0.1'}"


def bad_gateway() -> Response:
    """What a load balancer in front of any of these APIs answers when the API is down."""
    return Response(502, "<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})


def basic_auth(request: Request) -> tuple[str, str]:
    """(user, password) of HTTP Basic auth; ("", "") when absent or garbled."""
    value = request.header("Authorization")
    if value[:6].lower() != "basic ":
        return "", ""
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def parse_generate(body: Any) -> tuple[str, int, int]:
    """(tenant, payouts, events per payout) from a generate request, or ValueError."""
    if not isinstance(body, dict):
        raise ValueError("The body must be a JSON object.")
    tenant = str(body.get("tenant") or KAFFEBONAN)
    count = int(body.get("payouts", 0))
    per_payout = int(body.get("transactions_per_payout", DEMO_EVENTS_PER_PAYOUT))
    if not 1 <= count <= MAX_GENERATED_PAYOUTS:
        raise ValueError(f"payouts must be 1–{MAX_GENERATED_PAYOUTS}.")
    if not 1 <= per_payout <= MAX_EVENTS_PER_PAYOUT:
        raise ValueError(f"transactions_per_payout must be 1–{MAX_EVENTS_PER_PAYOUT}.")
    if count * per_payout > MAX_GENERATED_EVENTS:
        raise ValueError(f"At most {MAX_GENERATED_EVENTS} transactions per request.")
    if tenant not in GATEWAY_TENANTS:
        raise ValueError(f"Unknown tenant {tenant!r}.")
    return tenant, count, per_payout


def generated(added: list[Payout], references: list[str]) -> Response:
    return Response(
        200,
        {
            "payouts": len(added),
            "transactions": sum(len(p.events) for p in added),
            "references": references,
        },
    )


class RateLimit:
    """A provider's request limit per merchant, changeable by a test through
    POST /_sandbox/<system>/rate_limit {"limit": n, "window_s": s}."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.default = (limit, window_s)
        self.limit, self.window_s = limit, window_s
        self.throttled = 0

    def wait(self, state: SandboxState, key: tuple[str, str]) -> float | None:
        """Seconds to wait when this request is over the limit (it is then refused), else None.
        Callers hold the state lock."""
        wait = state.rate_limiter.retry_after(key, self.limit, self.window_s)
        if wait is not None:
            self.throttled += 1
        return wait

    def configure(self, body: Any) -> Response:
        if not isinstance(body, dict):
            raise ValueError("The body must be a JSON object.")
        self.limit = int(body.get("limit", self.default[0]))
        self.window_s = float(body.get("window_s", self.default[1]))
        return Response(200, {"limit": self.limit, "window_s": self.window_s})


class GeneratesPayouts:
    """The control hooks every gateway sandbox shares: `rate_limit` (this system's own limit, for
    a test) and `generate` (volume on request, for the benchmarks). A sandbox keeps its tenants in
    `merchants` or `accounts`, each with a `book` of payouts, and adds new ones with `_add`."""

    name: str

    def control(self, action: str, body: Any, state: SandboxState) -> Response:
        if action == "rate_limit":
            return self.rate.configure(body)  # type: ignore[attr-defined]
        if action != "generate":
            return Response(404, {"error": f"No sandbox action {action!r} for {self.name}"})
        tenant, count, per_payout = parse_generate(body)
        tenants = getattr(self, "merchants", None) or self.accounts  # type: ignore[attr-defined]
        with state.lock:
            holder = tenants[tenant]
            added = holder.book.extend(count, per_payout)
            return generated(added, self._add(holder, added))  # type: ignore[attr-defined]
