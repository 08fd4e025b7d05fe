"""The part of Shopify's search syntax (the `query` argument of orders and productVariants) that
our client sends, as the Shopify sandbox reads it."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from shops.sandbox.state import parse_datetime

_SEARCH_TERM = re.compile(
    r"""\s*(?:(?P<or>OR)\b|(?P<and>AND)\b|(?P<field>\w+):(?P<op>>=|<=|>|<)?"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s]+)))"""
)


def search(
    expression: str, fields: dict[str, Callable[[dict[str, Any]], Any]]
) -> Callable[[dict[str, Any]], bool]:
    """A predicate for the part of Shopify's search syntax we send: `field:value`,
    `field:>=value` (also > < <=), values bare or quoted, terms joined by AND (or a space) and OR.
    Unknown fields match nothing rather than everything, so a typo cannot return the whole shop."""
    alternatives: list[list[tuple[str, str, str]]] = [[]]
    position, expression = 0, expression.strip()
    while position < len(expression):
        match = _SEARCH_TERM.match(expression, position)
        if not match or match.end() == position:
            raise ValueError(f"Cannot read the search query at {expression[position:]!r}")
        position = match.end()
        if match.group("or"):
            alternatives.append([])
        elif match.group("field"):
            value = next(v for v in match.group("dq", "sq", "bare") if v is not None)
            term = (match.group("field"), match.group("op") or "", value.replace('\\"', '"'))
            alternatives[-1].append(term)

    def holds(record: dict[str, Any], field: str, op: str, value: str) -> bool:
        if field not in fields:
            return False
        current = fields[field](record)
        wanted: Any = value
        if isinstance(current, int):
            wanted = int(value) if value.lstrip("-").isdigit() else None
        elif isinstance(current, datetime.datetime):
            wanted = parse_datetime(value)
        else:
            current, wanted = str(current).casefold(), value.lstrip("#").casefold()
        if wanted is None:
            return False
        compare = {
            "": current == wanted,
            ">": current > wanted,
            ">=": current >= wanted,
            "<": current < wanted,
            "<=": current <= wanted,
        }
        return compare[op]

    if not any(alternatives):
        return lambda record: True
    return lambda record: any(
        terms and all(holds(record, *term) for term in terms) for terms in alternatives
    )
