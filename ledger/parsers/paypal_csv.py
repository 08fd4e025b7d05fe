"""PayPal's own CSV downloads from the account: the "Activity download" (all or balance-affecting
transactions) and the balance-affecting statement. Several currencies in one file, currency
conversions, holds and releases, withdrawals to the bank; English or Swedish headers, and the
number and date formats that go with the account's language ("1,234.56" and "11/20/2026", or
"1 234,56" and "2026-11-20").

The file is read twice: once to learn its formats and the days it covers per currency, once to
turn rows into lines. A "payout" is one currency over those days (see ledger.parsers.paypal).
"""

from __future__ import annotations

import csv
import datetime
import re
import unicodedata
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TextIO

from ledger.parsers.base import (
    STOCKHOLM,
    ZERO,
    Parsed,
    ParsedLine,
    ParsedPayout,
    ParseError,
    Parser,
    currency_code,
    delimiter_of,
    first_line,
    header_names,
    major,
    safe_rows,
    text,
)
from ledger.parsers.paypal import classify, figures

# Our name for a column → the headers PayPal uses for it, in English and Swedish (compared after
# normalising case, accents stay; "Transaction ID" and "Transaktions-ID" both count).
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "datum"),
    "time": ("time", "tid"),
    "timezone": ("timezone", "time zone", "tidszon"),
    "type": ("type", "typ", "description", "beskrivning"),
    "status": ("status",),
    "currency": ("currency", "valuta"),
    "gross": ("gross", "brutto", "bruttobelopp"),
    "fee": ("fee", "avgift", "avgifter"),
    "net": ("net", "netto", "nettobelopp"),
    "transaction_id": ("transaction id", "transaktions-id", "transaktions id", "transaktionsid"),
    "reference_txn": (
        "reference txn id",
        "referenstransaktions-id",
        "referens-id för transaktion",
        "referenstransaktionsid",
    ),
    "invoice": ("invoice number", "invoice id", "fakturanummer", "faktura-id", "fakturaid"),
    "impact": ("balance impact", "saldopåverkan", "påverkan på saldo"),
    "country": ("country code", "landskod"),
    "code": ("transaction event code", "transaktionshändelsekod", "händelsekod"),
}
SWEDISH_MARKERS = {"datum", "brutto", "netto", "valuta", "avgift", "beskrivning", "typ"}
REQUIRED = ("date", "currency", "gross", "net", "transaction_id")
COMPLETED = {"completed", "slutförd", "slutfört", "genomförd", "genomfört", "klar"}
MEMO = {"memo", "memo (ingen påverkan)"}
ZONES = {
    "CET": "Europe/Stockholm",
    "CEST": "Europe/Stockholm",
    "MET": "Europe/Stockholm",
    "MEST": "Europe/Stockholm",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "GMT": "UTC",
    "UTC": "UTC",
    "BST": "Europe/London",
    "EST": "America/New_York",
    "EDT": "America/New_York",
}


def _norm(header: str) -> str:
    return unicodedata.normalize("NFC", header.strip().lstrip("\ufeff").strip('"').strip().lower())


def _column_map(headers: list[str]) -> dict[str, str]:
    normalised = {_norm(h): h for h in headers}
    found = {}
    for key, names in COLUMNS.items():
        for name in names:
            if name in normalised:
                found[key] = normalised[name]
                break
    return found


def _classify_text(description: str, gross: Decimal) -> str:
    t = description.lower()
    if any(k in t for k in ("currency conversion", "valutaomräkning", "valutakonvertering")):
        return "adjustment"
    if any(k in t for k in ("withdraw", "uttag", "transfer to bank", "överföring till bank")):
        return "payout"
    if any(k in t for k in ("chargeback", "återkrav", "återbetalningskrav")):
        reversed_ = any(k in t for k in ("reversal", "cancel", "återföring", "annuller"))
        return "dispute_reversal" if reversed_ else "chargeback"
    if any(k in t for k in ("hold", "spärr", "reserv", "innehåll")):
        released = ("release", "reversal", "cancel", "frisläpp", "häv", "återföring", "annuller")
        return "reserve_release" if any(k in t for k in released) else "reserve_hold"
    if "payment reversal" in t or "betalningsåterföring" in t:
        return "chargeback"
    if "refund" in t or "återbetalning" in t:
        return "refund"
    if "fee" in t or "avgift" in t:
        return "fee"
    if "payment" in t or "betalning" in t:
        return "sale" if gross > 0 else "adjustment"
    return "adjustment"


class _Formats:
    """What the first pass learned: how numbers and dates are written, and the days covered."""

    def __init__(self, swedish: bool) -> None:
        self.decimal_comma = swedish
        self.swedish = swedish
        self.day_first: bool | None = None
        self.spans: dict[str, list[datetime.date]] = {}

    def reference(self, currency: str) -> str:
        first, last = self.spans[currency]
        return f"{first}..{last} {currency}"


def _date_parts(value: str, *, row: int, field: str) -> tuple[int, int, int]:
    parts = re.split(r"[/.\-]", value.strip())
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ParseError(f"{value!r} is not a date.", row=row, field=field)
    return int(parts[0]), int(parts[1]), int(parts[2])


class PayPalCsv(Parser):
    name, provider, label = "paypal_csv", "paypal", "PayPal activity download / statement (CSV)"
    unique_transaction_ids = True

    def sniff(self, head: str) -> bool:
        found = _column_map(header_names(head))
        return all(k in found for k in REQUIRED) and ("type" in found or "code" in found)

    def parse_text(self, stream: TextIO) -> Iterator[Parsed]:
        delimiter = delimiter_of(first_line(stream.readline()))
        stream.seek(0)
        headers = next(safe_rows(csv.reader(stream, delimiter=delimiter)), [])
        columns = _column_map(headers)
        for key in REQUIRED:
            if key not in columns:
                raise ParseError("is missing from the header.", row=1, field=COLUMNS[key][0])
        formats = _Formats(swedish=bool(SWEDISH_MARKERS & {_norm(h) for h in headers}))
        stream.seek(0)
        self._learn(stream, delimiter, headers, columns, formats)
        stream.seek(0)
        reader = csv.DictReader(stream, delimiter=delimiter)
        yielded: set[str] = set()
        for record in safe_rows(reader):
            row = reader.line_num
            line = self._line(record, row, columns, formats)
            if line is None:
                continue
            if line.payout not in yielded:
                yielded.add(line.payout)
                yield ParsedPayout(
                    reference=line.payout,
                    payout_date=formats.spans[line.currency][1],
                    currency=line.currency,
                )
            yield line

    def _included(self, record: dict[str, Any], columns: dict[str, str]) -> bool:
        if "impact" in columns:
            return _norm(record.get(columns["impact"]) or "") not in MEMO
        if "status" in columns:
            return _norm(record.get(columns["status"]) or "") in COMPLETED
        return True

    def _learn(self, stream, delimiter, headers, columns, formats: _Formats) -> None:
        reader = csv.DictReader(stream, delimiter=delimiter, fieldnames=headers)
        next(safe_rows(reader), None)
        dates: list[tuple[int, str, str]] = []
        for record in safe_rows(reader):
            row = reader.line_num
            if None in record:
                raise ParseError("has more fields than the header.", row=row)
            if any(v is None for v in record.values()):
                raise ParseError("has fewer fields than the header.", row=row)
            if not self._included(record, columns):
                continue
            for key in ("gross", "fee", "net"):
                value = (record.get(columns.get(key, "")) or "").strip()
                if re.search(r"\d,\d{1,2}$", value) and "." not in value:
                    formats.decimal_comma = True
            currency = currency_code(
                record.get(columns["currency"]), row=row, field=columns["currency"]
            )
            dates.append((row, currency, record.get(columns["date"]) or ""))
        for row, _currency, value in dates:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                continue
            first, second, _third = _date_parts(value, row=row, field=columns["date"])
            if first > 12:
                formats.day_first = True
            elif second > 12:
                formats.day_first = False
        if formats.day_first is None:
            formats.day_first = formats.swedish
        for row, currency, value in dates:
            when = self._date(value, row, columns["date"], formats)
            span = formats.spans.setdefault(currency, [when, when])
            span[0], span[1] = min(span[0], when), max(span[1], when)

    def _date(self, value: str, row: int, field: str, formats: _Formats) -> datetime.date:
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                return datetime.date.fromisoformat(value.strip())
            a, b, c = _date_parts(value, row=row, field=field)
            year = c if c > 99 else 2000 + c
            return datetime.date(year, b, a) if formats.day_first else datetime.date(year, a, b)
        except (ValueError, OverflowError) as exc:
            raise ParseError(f"{value!r} is not a date.", row=row, field=field) from exc

    def _line(self, record, row, columns, formats: _Formats) -> ParsedLine | None:
        if not self._included(record, columns):
            return None

        def amount(key: str, default: str = "") -> Decimal:
            value = (record.get(columns[key]) or default) if key in columns else default
            return major(
                value, row=row, field=columns.get(key, key), decimal_comma=formats.decimal_comma
            )

        currency = currency_code(
            record.get(columns["currency"]), row=row, field=columns["currency"]
        )
        gross, fee_column, net = amount("gross"), amount("fee", "0"), amount("net")
        if "code" in columns and (record.get(columns["code"]) or "").strip():
            kind = classify(record[columns["code"]], gross, row=row, field=columns["code"])
        else:
            kind = _classify_text(text(record.get(columns.get("type", ""), ""), 200), gross)
        if kind is None:
            return None
        gross, fee = figures(kind, gross, -fee_column)
        when = self._date(record.get(columns["date"]) or "", row, columns["date"], formats)
        return ParsedLine(
            payout=formats.reference(currency),
            row=row,
            type=kind,
            currency=currency,
            gross=gross,
            fee=fee,
            net=net,  # PayPal's own figure, even where it breaks net = gross − fee
            raw=dict(record),
            order_reference=text(record.get(columns.get("invoice", ""), "")),
            transaction_id=text(record.get(columns["transaction_id"])),
            related_transaction_id=text(record.get(columns.get("reference_txn", ""), "")),
            occurred_at=self._moment(when, record, columns),
            country=text(record.get(columns.get("country", ""), ""), 2).upper(),
            note=text(record.get(columns.get("type", ""), ""), 200) if kind == "adjustment" else "",
        )

    def _moment(self, when: datetime.date, record, columns) -> datetime.datetime:
        clock = (record.get(columns.get("time", "")) or "").strip()
        try:
            hour, minute, *rest = (int(p) for p in clock.split(":")) if clock else (12, 0)
            moment_ = datetime.datetime.combine(
                when, datetime.time(hour, minute, rest[0] if rest else 0)
            )
        except (ValueError, OverflowError):
            moment_ = datetime.datetime.combine(when, datetime.time(12, 0))
        zone_name = (record.get(columns.get("timezone", "")) or "").strip()
        try:
            zone = (
                zoneinfo.ZoneInfo(ZONES.get(zone_name.upper(), zone_name))
                if zone_name
                else STOCKHOLM
            )
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = STOCKHOLM
        return moment_.replace(tzinfo=zone)


__all__ = ["PayPalCsv", "ZERO"]
