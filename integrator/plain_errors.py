"""Errors in plain words: what went wrong and who can fix it, never the raw message.

The clients (shops/clients/base.py) word their errors as "<system> answered <status>: …",
"Could not connect to <system>", "<system> refused the authorisation (invalid_grant) …". A message
is sorted into a few causes here; the status page tells the merchant what they can do, and the
error digest tells support the likely fix. The raw message stays in the admin, for support only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from shops.models import Connection

RECONNECT = "reconnect"
PERMISSION = "permission"
BUSY = "busy"
DOWN = "down"
REJECTED = "rejected"
MISSING = "missing"
UNKNOWN = "unknown"

# First match wins; the order puts what the merchant must do before what fixes itself.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        RECONNECT,
        re.compile(
            r"answered 401\b|refused the authori[sz]ation|invalid_grant|invalid_client|"
            r"unauthori[sz]ed_client|must reconnect|token (has )?expired",
            re.I,
        ),
    ),
    (PERMISSION, re.compile(r"answered 403\b|forbidden|\bmodule\b|\bscope\b", re.I)),
    (BUSY, re.compile(r"answered 429\b|rate limit|too many requests", re.I)),
    (
        DOWN,
        re.compile(
            r"answered 5\d\d\b|could not connect|did not answer in time|is unreachable|"
            r"connection .* broke|service unavailable",
            re.I,
        ),
    ),
    (MISSING, re.compile(r"answered 404\b|not found", re.I)),
    (REJECTED, re.compile(r"answered (400|409|422)\b|rejected|billing address", re.I)),
]

# Causes the merchant fixes; everything else we fix, or it fixes itself.
MERCHANT_CAUSES = {RECONNECT, PERMISSION}


def diagnose(message: str, *, needs_merchant: bool = False) -> str:
    """The cause of an error message (one of the constants above)."""
    for cause, pattern in _PATTERNS:
        if pattern.search(message or ""):
            return cause
    return RECONNECT if needs_merchant else UNKNOWN


@dataclass(frozen=True)
class PlainError:
    cause: str
    headline: str
    advice: str

    @property
    def merchant_must_act(self) -> bool:
        return self.cause in MERCHANT_CAUSES


def platform_label(platform: str) -> str:
    """Visma eEkonomi, Jetshop / Norce … (the names are the same in every language)."""
    try:
        return str(Connection.Platform(platform).label)
    except ValueError:
        return platform


def for_merchant(message: str, *, platform: str, needs_merchant: bool = False) -> PlainError:
    """What the merchant reads on the status page: what is wrong and what they can do."""
    name = platform_label(platform)
    cause = diagnose(message, needs_merchant=needs_merchant)
    if cause == RECONNECT:
        return PlainError(
            cause,
            _("Reconnect %(system)s: the authorisation expired") % {"system": name},
            _(
                "Sign in to %(system)s and approve the integration again, or ask us for a new "
                "link. Nothing is lost meanwhile: the transfers resume where they stopped."
            )
            % {"system": name},
        )
    if cause == PERMISSION:
        return PlainError(
            cause,
            _("%(system)s refuses access: a module or permission is missing") % {"system": name},
            _(
                "Check that your %(system)s subscription includes what the integration needs "
                "(for Visma eEkonomi: the API and, for orders, the order module)."
            )
            % {"system": name},
        )
    if cause == BUSY:
        return PlainError(
            cause,
            _("%(system)s is busy right now") % {"system": name},
            _("You need to do nothing: we try again automatically."),
        )
    if cause == DOWN:
        return PlainError(
            cause,
            _("%(system)s does not answer right now") % {"system": name},
            _("You need to do nothing: we try again automatically."),
        )
    return PlainError(
        cause,
        _("Something went wrong in the transfer with %(system)s") % {"system": name},
        _("We are looking at it. You need to do nothing."),
    )


def fix_for_support(cause: str, *, platform: str) -> str:
    """The likely fix, for the daily error digest."""
    name = platform_label(platform)
    fixes = {
        RECONNECT: _(
            "The authorisation at %(system)s expired or was revoked: the merchant must "
            "reconnect (they are e-mailed once per incident)."
        ),
        PERMISSION: _(
            "%(system)s refused access (403): the merchant's subscription lacks a module or "
            "scope (Visma: API, order module). Ask them to activate it."
        ),
        BUSY: _(
            "%(system)s rate-limited us (429). Usually passes by itself; if it repeats every "
            "day, spread the schedules."
        ),
        DOWN: _(
            "%(system)s was down or unreachable. Retried automatically; retry the failed jobs "
            "if it lasted."
        ),
        MISSING: _(
            "An object was missing at %(system)s (404), e.g. an article number or a customer. "
            "Create it there or fix the mapping, then retry the items."
        ),
        REJECTED: _(
            "%(system)s rejected the data (400/409/422). Read the item's message, fix the data "
            "in the shop or the mapping, then retry the items."
        ),
        UNKNOWN: _("Unrecognised error: read the job and its items in the admin."),
    }
    return fixes.get(cause, fixes[UNKNOWN]) % {"system": name}


def platform_in_message(message: str, platforms: list[str]) -> str | None:
    """Which of `platforms` the message names first (the clients start with their system's
    name, which is the platform's label)."""
    best: tuple[int, str] | None = None
    for platform in platforms:
        label = platform_label(platform)
        found = (message or "").find(label)
        if found >= 0 and (best is None or found < best[0]):
            best = (found, platform)
    return best[1] if best else None
