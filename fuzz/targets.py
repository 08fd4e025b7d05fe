"""What the fuzzers feed: raw bytes in, and either a clean refusal or a parsed result out.

`settlement(data)` reads a settlement file exactly as `payout_import` does up to the database
(encoding, detection, every row through its parser), without writing anything, so a fuzzer can
run it thousands of times a second. A `ParseError` is the expected refusal; any other exception
is a bug the fuzzer found.
"""

from __future__ import annotations

import io
from decimal import Decimal

from ledger.importing import _fingerprint, _load_json, _unreadable, max_bytes
from ledger.parsers import ParsedLine, detect, looks_like_json


def settlement(data: bytes, provider: str | None = None) -> list[ParsedLine]:
    """The parsed lines of `data`; raises ParseError for a file we refuse."""
    stream = io.BytesIO(data)
    fingerprint = _fingerprint(stream, max_bytes())
    unreadable = _unreadable(fingerprint)
    if unreadable is not None:
        raise unreadable
    head = fingerprint.head.decode(fingerprint.encoding, errors="replace")
    text = io.TextIOWrapper(stream, encoding=fingerprint.encoding, errors="replace", newline="")
    document = _load_json(text) if looks_like_json(head) else None
    parser = detect(head, document, provider)
    events = parser.parse_document(document) if document is not None else parser.parse_text(text)
    lines = [event for event in events if isinstance(event, ParsedLine)]
    for line in lines:
        for amount in (line.gross, line.fee, line.net):
            # What the ledger can hold: two decimals, finite, DecimalField(max_digits=14).
            assert isinstance(amount, Decimal) and amount.is_finite(), line
            assert amount == amount.quantize(Decimal("0.01")), line
            assert abs(amount) < Decimal("1e12"), line
        assert len(line.currency) == 3 and line.currency.isalpha(), line
    return lines
