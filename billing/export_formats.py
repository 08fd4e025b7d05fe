"""Exports that are safe to open in a spreadsheet: a cell that starts like a formula
("=cmd|' /C calc'!A0", "+…", "-…", "@…") is exported as text, after the apostrophe spreadsheets
read as "this is text" (OWASP's advice on CSV injection). Customer and order names come from
shops and merchants, so anyone could otherwise put a formula into an accountant's spreadsheet.

django-import-export's own IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only drops one leading "=",
which leaves "==cmd", "+cmd" and "@SUM" working."""

from __future__ import annotations

import re
from typing import Any

import tablib

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-249.00", "+46", "-250,00") is data, not a formula: it stays a number.
_NUMBER = re.compile(r"[+-]?\d+([.,]\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """`value`, or for text a spreadsheet would run as a formula, that text after an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def formula_safe(dataset: tablib.Dataset) -> tablib.Dataset:
    safe = tablib.Dataset(headers=dataset.headers, title=dataset.title)
    for row in dataset:
        safe.append([spreadsheet_safe(cell) for cell in row])
    return safe
