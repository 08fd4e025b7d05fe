"""How the booking run talks to Visma: a request that surely did nothing (5xx, 429, refused) is
sent again after a pause; a write whose answer was lost is followed by a search by its natural
key before anything is created again (DESIGN.md section 5, "Exactly once")."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from integrator.flows.order_run import CALL_ATTEMPTS, back_off
from shops.clients.errors import OutcomeUnknown, RateLimited, RemoteDown

T = TypeVar("T")
# A lost answer restarts from the search this many times; then the item waits for the next run.
WRITE_ATTEMPTS = 4


class NotBookable(Exception):
    """This item cannot be booked as it is; the message says why, in words support can pass on."""


def call(fn: Callable[[], T]) -> T:
    for attempt in range(1, CALL_ATTEMPTS + 1):
        try:
            return fn()
        except (RemoteDown, RateLimited) as exc:
            if attempt == CALL_ATTEMPTS:
                raise
            back_off(exc, attempt)
    raise AssertionError("unreachable")


def exactly_once(find: Callable[[], T | None], create: Callable[[], T]) -> T:
    """What `find` finds, else what `create` makes; after a lost answer, search again first."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        found = call(find)
        if found is not None:
            return found
        try:
            return call(create)
        except OutcomeUnknown as exc:
            if attempt == WRITE_ATTEMPTS:
                raise
            back_off(exc, attempt)
    raise AssertionError("unreachable")
