"""One parser per provider format, and the detector that picks one from the content.

    detect(head, document=None, provider=None) -> Parser

Text formats are recognised by their first line (PayPal's STL by its RH record, the CSVs by the
headers they must have); JSON documents by their shape. `provider` narrows the choice to one
gateway's formats, as `import_settlement --provider` does.
"""

from __future__ import annotations

from typing import Any

from ledger.parsers.base import (
    ParsedLine,
    ParsedPayout,
    ParseError,
    Parser,
)
from ledger.parsers.klarna import KlarnaCsv, KlarnaJson
from ledger.parsers.nets import NetsJson
from ledger.parsers.paypal import PayPalJson, PayPalStl
from ledger.parsers.paypal_csv import PayPalCsv
from ledger.parsers.shopify_payments import ShopifyPaymentsJson
from ledger.parsers.stripe import StripeCsv, StripeJson
from ledger.parsers.svea import SveaJson

# Order matters only where two formats could both claim a document: the more specific first.
PARSERS: list[Parser] = [
    KlarnaJson(),
    KlarnaCsv(),
    StripeJson(),
    StripeCsv(),
    PayPalJson(),
    PayPalStl(),
    PayPalCsv(),
    ShopifyPaymentsJson(),
    NetsJson(),
    SveaJson(),
]
PROVIDERS = sorted({p.provider for p in PARSERS})
BY_NAME = {p.name: p for p in PARSERS}


class UnknownFormat(ParseError):
    pass


def looks_like_json(head: str) -> bool:
    return head.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


def detect(head: str, document: Any = None, provider: str | None = None) -> Parser:
    candidates = [p for p in PARSERS if provider is None or p.provider == provider]
    if provider is not None and not candidates:
        raise UnknownFormat(
            f"{provider!r} is not a gateway we read; choose one of {', '.join(PROVIDERS)}."
        )
    if document is not None:
        found = next((p for p in candidates if p.is_json and p.accepts(document)), None)
    else:
        found = next((p for p in candidates if not p.is_json and p.sniff(head)), None)
    if found is None:
        which = f"{provider} " if provider else ""
        kinds = ", ".join(p.label for p in candidates)
        raise UnknownFormat(
            f"This is not a {which}settlement file we recognise. We read: {kinds}.", row=1
        )
    return found


__all__ = [
    "BY_NAME",
    "PARSERS",
    "PROVIDERS",
    "ParseError",
    "ParsedLine",
    "ParsedPayout",
    "Parser",
    "UnknownFormat",
    "detect",
    "looks_like_json",
]
