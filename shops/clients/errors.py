"""Typed errors every client raises, so the engine can decide what to do without reading JSON."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Something went wrong talking to an external system. `exchange` is the redacted request
    and response (shops.clients.base.Exchange.as_dict()) for the job log."""

    retryable = False
    needs_merchant = False

    def __init__(self, message: str, *, exchange: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exchange = exchange


class AuthExpired(ApiError):
    """The authorisation is gone (refresh token expired or revoked): the merchant must reconnect."""

    needs_merchant = True


class RateLimited(ApiError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ValidationFailed(ApiError):
    """The remote side rejected what we sent; `field` names the offending field when it says."""

    def __init__(self, message: str, *, field: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class NotFound(ApiError):
    pass


class RemoteDown(ApiError):
    """5xx, connection refused: the request surely did nothing; safe to try again later."""

    retryable = True


class OutcomeUnknown(ApiError):
    """A write timed out or its response was lost: it may or may not have happened. The caller
    must search by the natural key before trying to create again."""

    retryable = True


class ModuleMissing(AuthExpired):
    """The merchant's account lacks a module the request needs (Visma answers 403 "No access to
    module", e.g. the order module). Only the merchant can fix it, so it is handled like a lost
    authorisation (the job stops, the connection shows a warning) with a message that says what
    to buy or switch on."""

    def __init__(self, message: str, *, module: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.module = module


class PeriodClosed(ValidationFailed):
    """The date falls in a locked accounting period or in no fiscal year at all: nothing can be
    booked on it until the merchant opens the period (or creates the year)."""

    needs_merchant = True
