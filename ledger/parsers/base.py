"""What every settlement parser returns, and the few conversions they share.

A parser turns a gateway's own document into plain dataclasses: `ParsedPayout` (one per payout)
and `ParsedLine` (one per money movement). Amounts are `Decimal` in major units with two
decimals, converted from minor units once, here at the edge. Signs follow the ledger: money to
the merchant is positive, a fee is a positive cost, and `net` is what the gateway says the line
added to the payout (kept as the gateway gave it, even where it breaks net = gross − fee).

Text formats are parsed as a stream of rows (a 100,000-line file never sits in memory as
objects); JSON documents are read whole, because JSON has no rows to stream.
"""

from __future__ import annotations

import csv
import datetime
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TextIO

from ledger.parsers.iso4217 import CURRENCIES

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")

# ISO 4217 minor-unit exponents that are not 2 (what the gateways use for these currencies).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX", "XAF", "XOF"})
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD"})


class ParseError(Exception):
    """A malformed document. Always says where (row or item) and, where it can, which field."""

    def __init__(self, message: str, *, row: int | str | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.field = field

    @property
    def where(self) -> str:
        if self.row is None:
            return ""
        return f"row {self.row}" if isinstance(self.row, int) else str(self.row)

    def __str__(self) -> str:
        parts = [p for p in (self.where, f"field {self.field!r}" if self.field else "") if p]
        return f"{', '.join(parts)}: {self.message}" if parts else self.message


@dataclass(slots=True)
class ParsedPayout:
    reference: str
    payout_date: datetime.date
    currency: str
    # What the gateway says it paid for these lines; None: it states nothing, use the lines' sum.
    stated_net: Decimal | None = None
    # What reached the bank, when that differs from the net (PayPal withdrawals); None: the net.
    bank_amount: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ParsedLine:
    payout: str  # the reference of the payout it belongs to
    row: int | str  # where it is in the source, for messages
    type: str  # a PayoutLine.Type value
    currency: str
    gross: Decimal
    fee: Decimal
    net: Decimal
    raw: dict[str, Any]
    order_reference: str = ""
    source_order_id: str = ""
    transaction_id: str = ""
    related_transaction_id: str = ""
    occurred_at: datetime.datetime | None = None
    country: str = ""
    note: str = ""

    @property
    def breaks_own_arithmetic(self) -> bool:
        return self.gross - self.fee != self.net


Parsed = ParsedPayout | ParsedLine


class Parser:
    """One provider format. Subclasses set the names and implement one of the two pairs."""

    name: ClassVar[str]  # e.g. "klarna_csv", what --json and the admin call the format
    provider: ClassVar[str]  # the Connection.platform it belongs to
    label: ClassVar[str]
    is_json: ClassVar[bool] = False
    # Transaction ids are unique per account: a second file repeating one is an overlap.
    unique_transaction_ids: ClassVar[bool] = False

    def sniff(self, head: str) -> bool:  # text formats: does the start of the file look like us?
        return False

    def parse_text(self, stream: TextIO) -> Iterator[Parsed]:
        raise NotImplementedError

    def accepts(self, document: Any) -> bool:  # JSON formats
        return False

    def parse_document(self, document: Any) -> Iterator[Parsed]:
        raise NotImplementedError


# --- money ---------------------------------------------------------------------------------


def exponent_for(currency: str, *, row: int | str | None = None, field: str = "") -> int:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        raise ParseError(
            f"{currency} has three decimals; the ledger keeps two.", row=row, field=field
        )
    return 2


def minor(value: Any, currency: str, *, row: int | str | None, field: str) -> Decimal:
    """An integer amount in minor units (öre, cents) → Decimal in major units."""
    if isinstance(value, bool) or value is None or value == "":
        raise ParseError("an amount is missing.", row=row, field=field)
    if isinstance(value, float) and not value.is_integer():
        raise ParseError(f"{value!r} is not a whole number of minor units.", row=row, field=field)
    text = str(int(value)) if isinstance(value, float) else str(value).strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ParseError(f"{value!r} is not a whole number of minor units.", row=row, field=field)
    number = Decimal(text).scaleb(-exponent_for(currency, row=row, field=field))
    return _within_limit(number, value, row=row, field=field).quantize(CENT)


# The ledger's amounts are DecimalField(max_digits=14, decimal_places=2); no payout comes near.
MAX_AMOUNT = Decimal("1e12")


def _within_limit(number: Decimal, value: Any, *, row: int | str | None, field: str) -> Decimal:
    """`number`, if it is finite and fits the ledger; checked before any rounding, which would
    overflow the decimal context on an absurd value such as 1e30."""
    if not number.is_finite():
        raise ParseError(f"{value!r} is not an amount.", row=row, field=field)
    if abs(number) >= MAX_AMOUNT:
        raise ParseError(f"{value!r} is too large for an amount.", row=row, field=field)
    return number


_SPACES = re.compile(r"[\s\u00a0\u202f']")
_PLAIN = re.compile(r"-?\d{1,12}\.\d\d")
_SPACED = re.compile(r"\d[\s\u00a0\u202f']+\d")
_SPACE_GROUPED = re.compile(r"[+-]?\d{1,3}([\s\u00a0\u202f']\d{3})+([.,]\d*)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+")


def _ungroup(text: str, separator: str, value: Any, *, row: int | str | None, field: str) -> str:
    """Drop thousands separators, but only where they group by three ("1,234,567.00")."""
    decimal = "." if separator == "," else ","
    integer = text.rsplit(decimal, 1)[0]
    if not re.fullmatch(rf"[+-]?\d{{1,3}}(\{separator}\d{{3}})*", integer):
        raise ParseError(f"{value!r} is not an amount.", row=row, field=field)
    return text.replace(separator, "")


def major(value: Any, *, row: int | str | None, field: str, decimal_comma: bool = False) -> Decimal:
    """A decimal amount in major units, as text or number: "1,234.56", "1 234,56", "-249.00".
    `decimal_comma` says how to read a lone comma (Swedish files: "249,00")."""
    if type(value) is str and _PLAIN.fullmatch(value):
        return Decimal(value)  # the common case, "1249.00": nothing to clean up
    if isinstance(value, bool) or value is None:
        raise ParseError("an amount is missing.", row=row, field=field)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raw = str(value).strip().replace("\u2212", "-")
        if _SPACED.search(raw) and not _SPACE_GROUPED.fullmatch(raw):
            raise ParseError(f"{value!r} is not an amount.", row=row, field=field)
        text = _SPACES.sub("", raw)
        if not text:
            raise ParseError("an amount is missing.", row=row, field=field)
        if text.startswith("(") and text.endswith(")"):
            text = "-" + text[1:-1]
        if "," in text and "." in text:
            # The one that comes last is the decimal separator; the other groups thousands.
            thousands = "." if text.rfind(",") > text.rfind(".") else ","
            text = _ungroup(text, thousands, value, row=row, field=field).replace(",", ".")
        elif "," in text:
            if decimal_comma or text.count(",") == 1 and not _GROUPED.fullmatch(text):
                text = text.replace(",", ".")
            else:
                text = _ungroup(text, ",", value, row=row, field=field)
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise ParseError(f"{value!r} is not an amount.", row=row, field=field)
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern above rules this out
            raise ParseError(f"{value!r} is not an amount.", row=row, field=field) from exc
    number = _within_limit(number, value, row=row, field=field)
    if number != number.quantize(CENT):
        raise ParseError(f"{value!r} has more than two decimals.", row=row, field=field)
    return number.quantize(CENT)


def currency_code(value: Any, *, row: int | str | None, field: str) -> str:
    text = str(value or "").strip().upper()
    if text not in CURRENCIES:
        raise ParseError(f"{value!r} is not a currency code.", row=row, field=field)
    return text


# --- time ----------------------------------------------------------------------------------


def moment(value: Any, *, row: int | str | None, field: str, tz: datetime.tzinfo = STOCKHOLM):
    """ISO 8601 ("2026-11-20T08:12:33Z"), PayPal's "2026/11/20 08:12:33 +0100", a Unix
    timestamp, or a plain date; naive times are read in `tz`. Returns an aware datetime."""
    if value is None or value == "":
        raise ParseError("a date is missing.", row=row, field=field)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ParseError(f"{value!r} is not a date.", row=row, field=field) from exc
    text = str(value).strip()
    candidates = [text, text.replace("Z", "+00:00"), text.replace("/", "-")]
    for candidate in candidates:
        try:
            parsed = datetime.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    for pattern in ("%Y/%m/%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %z", "%d.%m.%Y %H:%M:%S"):
        try:
            parsed = datetime.datetime.strptime(text, pattern)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    raise ParseError(f"{value!r} is not a date.", row=row, field=field)


def day(value: Any, *, row: int | str | None, field: str) -> datetime.date:
    """A calendar day: "2026-11-20" as it is, a moment as the day it was in Stockholm."""
    plain = str(value or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", plain):
        try:
            return datetime.date.fromisoformat(plain)
        except ValueError as exc:
            raise ParseError(f"{value!r} is not a date.", row=row, field=field) from exc
    return moment(value, row=row, field=field).astimezone(STOCKHOLM).date()


# --- text ----------------------------------------------------------------------------------


def delimiter_of(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def first_line(head: str) -> str:
    return head.lstrip("\ufeff").split("\n", 1)[0].strip("\r")


def header_names(head: str) -> list[str]:
    line = first_line(head)
    try:
        names = next(csv.reader([line], delimiter=delimiter_of(line)), [])
    except csv.Error:
        return []
    return [h.strip().strip('"').strip() for h in names]


def safe_rows(reader: Any) -> Iterator[Any]:
    """The rows of a csv reader; a row the csv module cannot read is a ParseError naming it."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(f"is not readable as CSV ({exc}).", row=reader.line_num or 1) from exc
        yield row


def text(value: Any, limit: int = 100) -> str:
    return "" if value is None else str(value).strip()[:limit]


def dig(document: Any, *path: str) -> Any:
    """document["a"]["b"]… or None where any step is missing (vendors leave things out)."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def as_list(value: Any, *, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ParseError("should be a list.", row=where)
    return value
