"""Transient trouble with a remote system, and the pause before trying again — one rule for
every flow (and the ledger's postings)."""

from __future__ import annotations

import time

from django.conf import settings

from shops.clients.errors import ApiError, OutcomeUnknown, RateLimited, RemoteDown

# Trouble that says nothing about the item itself: worth another try after a pause.
TRANSIENT_ERRORS = (RemoteDown, RateLimited, OutcomeUnknown)


def back_off(exc: ApiError, attempt: int, *, let_lost_write_land: bool = False) -> None:
    """Exponential pause from settings.SYNC_RETRY_BACKOFF, honouring Retry-After up to a cap.
    With `let_lost_write_land`, a lost answer is given at least as long as we waited for it,
    since the write may still be landing on the other side, before the caller searches for it."""
    base = settings.SYNC_RETRY_BACKOFF
    wait = min(getattr(exc, "retry_after", 0) or base * 2 ** (attempt - 1), 30 * base)
    if let_lost_write_land and isinstance(exc, OutcomeUnknown):
        wait = max(wait, settings.HTTP_TIMEOUT)
    time.sleep(wait)
