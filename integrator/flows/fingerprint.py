"""A short, stable digest of the values one sync sends for one item, kept in Link.fingerprint:
an item whose digest did not change since the last successful write is not sent again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def _normalised(value: Any) -> Any:
    # 10, 10.0 and 10.00 are the same price; "Bok " and "Bok" the same name. Without this a
    # value that only changed its spelling would look changed and be sent again.
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        return {str(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    return value if value is None or isinstance(value, bool) else str(value)


def fingerprint(values: Mapping[str, Any]) -> str:
    """sha256 (hex) of the values, independent of key order and of how numbers are written."""
    text = json.dumps(_normalised(values), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
