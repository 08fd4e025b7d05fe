"""Reading a settlement file into payouts and lines: atomic, idempotent, streaming.

The same file twice is a no-op (its SHA-256 is remembered per gateway), and so is a payout that
is already there (its reference is unique per gateway). Lines are written in batches as the
parser yields them, so a 100,000-line file never sits in memory as model objects. Anything wrong
with the file raises `ImportRejected` naming the row and field, and the transaction around the
whole import leaves nothing behind.
"""

from __future__ import annotations

import codecs
import datetime
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import matching
from ledger.bulk import Inserter
from ledger.models import ImportedFile, LedgerEvent, Payout, PayoutLine
from ledger.parsers import ParsedLine, ParsedPayout, ParseError, Parser, detect, looks_like_json
from shops.models import Connection

ZERO = Decimal("0.00")
BATCH = 2000
HEAD_BYTES = 64 * 1024
MAX_WARNINGS = 20


# The columns the importer writes, in the order of the tuples it builds.
LINE_FIELDS = (
    "payout",
    "line_no",
    "type",
    "order_reference",
    "source_order_id",
    "transaction_id",
    "related_transaction_id",
    "occurred_at",
    "country",
    "currency",
    "gross",
    "fee",
    "net",
    "match",
    "match_note",
    "raw",
)
TRANSACTION = LINE_FIELDS.index("transaction_id")


class ImportRejected(Exception):
    """The file cannot be imported as it is; the message names the row and field."""


@dataclass
class CurrencyTotals:
    currency: str
    payouts: int = 0
    lines: int = 0
    matched: int = 0
    unmatched: int = 0
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    net: Decimal = ZERO

    def as_json(self) -> dict[str, Any]:
        return {
            "payouts": self.payouts,
            "lines": self.lines,
            "matched": self.matched,
            "unmatched": self.unmatched,
            "currency": self.currency,
            "gross": str(self.gross),
            "fees": str(self.fees),
            "net": str(self.net),
        }


@dataclass
class ImportResult:
    source_format: str = ""
    payouts: list[Payout] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    totals: list[CurrencyTotals] = field(default_factory=list)

    def as_json(self) -> dict[str, Any] | list[dict[str, Any]]:
        """One object for a one-currency file, a list with one per currency otherwise."""
        rows = [t.as_json() for t in self.totals] or [CurrencyTotals(currency="").as_json()]
        return rows[0] if len(rows) == 1 else rows


def _open(source: bytes | str | Path | IO[bytes]) -> IO[bytes]:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if isinstance(source, str | Path):
        return open(source, "rb")  # noqa: SIM115 - closed by payout_import
    return source


def max_bytes() -> int:
    return settings.SETTLEMENT_MAX_MB * 1024 * 1024


def too_large(size: int) -> ImportRejected:
    return ImportRejected(
        _(
            "Nothing was imported. The file is larger than %(limit)s MB, the most a settlement "
            "import reads (SETTLEMENT_MAX_MB). Split it, e.g. one file per payout."
        )
        % {"limit": settings.SETTLEMENT_MAX_MB}
    )


def _declared_size(source: bytes | str | Path | IO[bytes], stream: IO[bytes]) -> int | None:
    """The size a source says it has before it is read: a file's on disk, an upload's."""
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, str | Path):
        return os.fstat(stream.fileno()).st_size
    size = getattr(source, "size", None)
    return size if isinstance(size, int) else None


@dataclass
class _Fingerprint:
    sha256: str
    size: int
    head: bytes
    encoding: str
    cut_in_character_at_row: int | None = None
    # The row of the first byte that is not UTF-8 in a file that otherwise is: a broken file,
    # not a Windows one (decoding it as Windows-1252 would garble every å, ä and ö in it).
    not_utf8_at_row: int | None = None
    # The row of the first NUL character (a 0 byte, or JSON's \u0000): no text column can hold
    # one (PostgreSQL refuses it), and a CSV or JSON file from a gateway never has one.
    nul_at_row: int | None = None


# Two bytes that only UTF-8 writes (a lead byte and a continuation byte: "ö" is C3 B6); text in
# Windows-1252 practically never has them side by side ("ö" is F6, then a letter).
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_NUL = re.compile(rb"\x00|(?<!\\)\\u0000")


def _fingerprint(stream: IO[bytes], limit: int) -> _Fingerprint:
    """One pass over the bytes: the hash, the head for detection, and the encoding (UTF-8,
    UTF-16 with its byte-order mark, or Windows-1252 for a spreadsheet export; a UTF-8 file that
    ends inside a character is cut). Stops reading, and refuses, past `limit` bytes."""
    digest, size, head, rows = hashlib.sha256(), 0, b"", 1
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, seen_utf8, not_utf8_at_row, nul_at_row = True, False, None, None
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(size)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                utf8 = False
                not_utf8_at_row = rows + chunk.count(b"\n", 0, max(exc.start, 0))
        seen_utf8 = seen_utf8 or _UTF8_PAIR.search(chunk) is not None
        if nul_at_row is None and (nul := _NUL.search(chunk)):
            nul_at_row = rows + chunk.count(b"\n", 0, nul.start())
        rows += chunk.count(b"\n")
    stream.seek(0)
    cut = None
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            cut = rows
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, cut, not_utf8_at_row = "utf-16", None, None
    elif utf8:
        encoding = "utf-8-sig"
    else:
        encoding = "cp1252"
        not_utf8_at_row = not_utf8_at_row if seen_utf8 else None
    return _Fingerprint(
        digest.hexdigest(),
        size,
        head,
        encoding,
        cut,
        not_utf8_at_row,
        nul_at_row=None if encoding == "utf-16" else nul_at_row,
    )


def _unreadable(fingerprint: _Fingerprint) -> ParseError | None:
    """Why the bytes are no text we can read, naming the row; None when they are."""
    if fingerprint.cut_in_character_at_row is not None:
        return ParseError(
            "the file ends inside a character: it is cut short.",
            row=fingerprint.cut_in_character_at_row,
        )
    if fingerprint.not_utf8_at_row is not None:
        return ParseError(
            "has bytes that are not UTF-8 text, although the rest of the file is. Export the "
            "file again, as UTF-8.",
            row=fingerprint.not_utf8_at_row,
        )
    if fingerprint.nul_at_row is not None:
        return ParseError(
            "has a NUL character, which no settlement file has: this is not a text file, or "
            "it is UTF-16 without a byte-order mark. Export it again as UTF-8 (in Excel: CSV "
            "UTF-8).",
            row=fingerprint.nul_at_row,
        )
    return None


def payout_import(
    *,
    connection: Connection,
    source: bytes | str | Path | IO[bytes],
    name: str = "",
    provider: str | None = None,
    user: Any = None,
) -> ImportResult:
    if connection.kind != Connection.Kind.GATEWAY:
        raise ImportRejected(
            _("%(connection)s is not a payment gateway.") % {"connection": connection}
        )
    stream = _open(source)
    try:
        limit = max_bytes()
        declared = _declared_size(source, stream)
        if declared is not None and declared > limit:
            raise too_large(declared)
        fingerprint = _fingerprint(stream, limit)
        sha256, size = fingerprint.sha256, fingerprint.size
        earlier = _already_imported(connection, sha256)
        if earlier is not None:
            return earlier
        unreadable = _unreadable(fingerprint)
        if unreadable is not None:
            raise ImportRejected(
                _("Nothing was imported. %(error)s") % {"error": unreadable}
            ) from unreadable
        encoding = fingerprint.encoding
        head = fingerprint.head.decode(encoding, errors="replace")
        # Valid UTF-8 decodes without errors; the Windows fallback replaces its few undefined bytes.
        text_stream = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        try:
            document = _load_json(text_stream) if looks_like_json(head) else None
            parser = detect(head, document, provider)
            if parser.provider != connection.platform:
                raise ImportRejected(
                    _("This is a %(format)s file, but %(connection)s is a %(platform)s gateway.")
                    % {
                        "format": parser.label,
                        "connection": connection,
                        "platform": connection.get_platform_display(),
                    }
                )
            events = (
                parser.parse_document(document)
                if document is not None
                else parser.parse_text(text_stream)
            )
            try:
                return _import(connection, parser, events, sha256, size, name, user)
            except IntegrityError:
                # Someone imported the same file or payout at this very moment: theirs stands.
                earlier = _already_imported(connection, sha256)
                if earlier is None:
                    raise ImportRejected(
                        _(
                            "Another import of these payouts finished meanwhile; import again to "
                            "see what is left."
                        )
                    ) from None
                return earlier
        except ParseError as exc:
            raise ImportRejected(_("Nothing was imported. %(error)s") % {"error": exc}) from exc
        finally:
            text_stream.detach()
    finally:
        if isinstance(source, bytes | str | Path):
            stream.close()


def _import(connection, parser, events, sha256, size, name, user) -> ImportResult:
    with transaction.atomic():
        imported = ImportedFile.objects.create(
            connection=connection,
            sha256=sha256,
            name=name[:255],
            source_format=parser.name,
            size=size,
            imported_by=user if getattr(user, "pk", None) else None,
        )
        result = _Importer(connection, parser, imported, user).run(events)
        imported.summary = {"totals": result.as_json(), "already": result.already}
        imported.save(update_fields=["summary"])
    return result


def _already_imported(connection: Connection, sha256: str) -> ImportResult | None:
    earlier = ImportedFile.objects.filter(connection=connection, sha256=sha256).first()
    if earlier is None:
        return None
    references = ", ".join(earlier.payouts.values_list("reference", flat=True)) or "–"
    currencies = sorted(set(earlier.payouts.values_list("currency", flat=True)))
    when = timezone.localtime(earlier.imported_at).strftime("%Y-%m-%d %H:%M")
    return ImportResult(
        source_format=earlier.source_format,
        totals=[CurrencyTotals(currency=c) for c in currencies],
        already=[
            _("This file was already imported on %(when)s (payouts: %(references)s).")
            % {"when": when, "references": references}
        ],
    )


def _load_json(stream: IO[str]) -> Any:
    try:
        return json.load(stream)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"not valid JSON: {exc.msg} (column {exc.colno}).", row=exc.lineno
        ) from exc
    except UnicodeDecodeError as exc:
        raise ParseError("the file is not UTF-8 text.", row=1) from exc
    except RecursionError as exc:
        raise ParseError("not valid JSON: it is nested too deeply.", row=1) from exc
    except ValueError as exc:  # e.g. a number with more digits than Python converts
        raise ParseError("not valid JSON: a number in it has too many digits.", row=1) from exc


@dataclass
class _Tally:
    payout: Payout
    provisional: bool
    stated_net: Decimal | None = None
    bank_amount: Decimal | None = None
    line_no: int = 0
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    net: Decimal = ZERO
    withdrawn: Decimal = ZERO
    has_withdrawals: bool = False
    last_day: datetime.date | None = None


class _Importer:
    def __init__(self, connection: Connection, parser: Parser, imported: ImportedFile, user: Any):
        self.connection, self.parser, self.imported, self.user = connection, parser, imported, user
        self.tallies: dict[str, _Tally] = {}
        self.skipped: dict[str, str] = {}
        self.pending: list[tuple[Any, ...]] = []
        self.inserter = Inserter(PayoutLine, LINE_FIELDS)
        self.result = ImportResult(source_format=parser.name)
        self.flagged = 0

    def run(self, events: Iterable[ParsedPayout | ParsedLine]) -> ImportResult:
        for event in events:
            if isinstance(event, ParsedPayout):
                self._payout(event)
            else:
                self._line(event)
        self._flush()
        self._finish()
        return self.result

    def _payout(self, parsed: ParsedPayout, *, provisional: bool = False) -> None:
        reference = parsed.reference[:100]
        if reference in self.skipped:
            return
        tally = self.tallies.get(reference)
        if tally is None:
            if Payout.objects.filter(connection=self.connection, reference=reference).exists():
                self.skipped[reference] = reference
                self.result.already.append(
                    _("Payout %(reference)s was already imported; its lines were skipped.")
                    % {"reference": reference}
                )
                return
            payout = Payout.objects.create(
                connection=self.connection,
                reference=reference,
                payout_date=parsed.payout_date,
                currency=parsed.currency,
                net=ZERO,
                source_name=self.imported.name,
                source_format=self.parser.name,
                imported_file=self.imported,
                raw=_jsonable(parsed.raw),
            )
            self.tallies[reference] = _Tally(payout, provisional)
            tally = self.tallies[reference]
        elif not provisional:
            payout = tally.payout
            payout.payout_date, payout.currency, payout.raw = (
                parsed.payout_date,
                parsed.currency,
                _jsonable(parsed.raw),
            )
            tally.provisional = False
        if not provisional:
            tally.stated_net, tally.bank_amount = parsed.stated_net, parsed.bank_amount

    def _line(self, parsed: ParsedLine) -> None:
        reference = parsed.payout[:100]
        if reference in self.skipped:
            return
        if reference not in self.tallies:
            when = parsed.occurred_at.date() if parsed.occurred_at else timezone.localdate()
            self._payout(
                ParsedPayout(reference=reference, payout_date=when, currency=parsed.currency),
                provisional=True,
            )
            if reference in self.skipped:
                return
        tally = self.tallies[reference]
        if parsed.currency != tally.payout.currency:
            raise ParseError(
                f"is {parsed.currency}, but the payout {reference} is in {tally.payout.currency}.",
                row=parsed.row,
                field="currency",
            )
        tally.line_no += 1
        tally.fees += parsed.fee
        if parsed.type == PayoutLine.Type.PAYOUT:
            tally.withdrawn -= parsed.net
            tally.has_withdrawals = True
        else:
            tally.gross += parsed.gross
            tally.net += parsed.net
        if parsed.occurred_at and tally.provisional:
            when = parsed.occurred_at.date()
            tally.last_day = max(tally.last_day or when, when)
        if parsed.breaks_own_arithmetic:
            self._flag(parsed)
        self.pending.append(
            (
                tally.payout.pk,
                tally.line_no,
                parsed.type,
                parsed.order_reference[:100],
                parsed.source_order_id[:100],
                parsed.transaction_id[:100],
                parsed.related_transaction_id[:100],
                parsed.occurred_at,
                parsed.country[:2],
                parsed.currency,
                parsed.gross,
                parsed.fee,
                parsed.net,
                PayoutLine.Match.UNMATCHED,
                parsed.note[:500],
                parsed.raw,
            )
        )
        if len(self.pending) >= BATCH:
            self._flush()

    def _flag(self, parsed: ParsedLine) -> None:
        self.flagged += 1
        if self.flagged <= MAX_WARNINGS:
            where = f"row {parsed.row}" if isinstance(parsed.row, int) else str(parsed.row)
            self.result.warnings.append(
                _(
                    "%(where)s: the gateway says net %(net)s, but gross %(gross)s − fee %(fee)s is "
                    "%(sum)s. The gateway's figures are kept and the line is flagged."
                )
                % {
                    "where": where,
                    "net": parsed.net,
                    "gross": parsed.gross,
                    "fee": parsed.fee,
                    "sum": parsed.gross - parsed.fee,
                }
            )

    def _flush(self) -> None:
        if not self.pending:
            return
        if self.parser.unique_transaction_ids:
            self._refuse_overlap()
        self.inserter.insert(self.pending)
        self.pending = []

    def _refuse_overlap(self) -> None:
        ids = {row[TRANSACTION] for row in self.pending if row[TRANSACTION]}
        if not ids:
            return
        ours = [t.payout.pk for t in self.tallies.values()]
        clash = (
            PayoutLine.objects.filter(payout__connection=self.connection, transaction_id__in=ids)
            .exclude(payout_id__in=ours)
            .values_list("transaction_id", "payout__reference")
            .first()
        )
        if clash:
            row = next(p for p in self.pending if p[TRANSACTION] == clash[0])
            payout = next(t.payout for t in self.tallies.values() if t.payout.pk == row[0])
            raise ImportRejected(
                _(
                    "Nothing was imported. Row %(row)s of payout %(payout)s, field 'transaction "
                    "id': transaction %(id)s is already in payout %(other)s. The file overlaps an "
                    "earlier import."
                )
                % {"row": row[1], "payout": payout.reference, "id": clash[0], "other": clash[1]}
            )

    def _finish(self) -> None:
        if self.flagged > MAX_WARNINGS:
            self.result.warnings.append(
                _("… and %(count)s more flagged lines.") % {"count": self.flagged - MAX_WARNINGS}
            )
        totals: dict[str, Any] = {}
        for tally in self.tallies.values():
            payout = tally.payout
            if tally.provisional and tally.last_day:
                payout.payout_date = tally.last_day
            payout.gross, payout.fees = tally.gross, tally.fees
            payout.net = tally.net if tally.stated_net is None else tally.stated_net
            if tally.bank_amount is not None:
                payout.bank_amount = tally.bank_amount
            elif tally.has_withdrawals:
                payout.bank_amount = tally.withdrawn
            payout.save()
            outcome = matching.match_payout(payout)
            LedgerEvent.objects.create(
                payout=payout,
                action=LedgerEvent.Action.IMPORTED,
                user=self.user if getattr(self.user, "pk", None) else None,
                comment=_("%(lines)s lines from %(file)s (%(format)s).")
                % {
                    "lines": tally.line_no,
                    "file": self.imported.name or "–",
                    "format": self.parser.label,
                },
            )
            self.result.payouts.append(payout)
            sums = totals.setdefault(payout.currency, CurrencyTotals(currency=payout.currency))
            sums.payouts += 1
            sums.lines += tally.line_no
            sums.matched += outcome.matched
            sums.unmatched += outcome.unmatched
            sums.gross += payout.gross
            sums.fees += payout.fees
            sums.net += payout.net
        if not totals and self.skipped:
            # Nothing new: the totals say so ("lines": 0), in the currency of what was there.
            known = Payout.objects.filter(
                connection=self.connection, reference__in=list(self.skipped)
            ).values_list("currency", flat=True)
            for currency in sorted(set(known)):
                totals[currency] = CurrencyTotals(currency=currency)
        self.result.totals = list(totals.values())


def _jsonable(value: Any) -> Any:
    """Raw rows as JSON can hold them (dates and decimals as text)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | datetime.date | datetime.datetime):
        return str(value)
    return value
