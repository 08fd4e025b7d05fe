"""What one orders job keeps while it runs: the clients, the routing, and caches of what Visma
told us (articles, customers, open periods), so a thousand orders cost a thousand orders' worth
of requests, not a thousand times the catalogue."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from integrator.flows import retries
from integrator.models import Integration, SyncJob
from integrator.plugins import Pipeline
from integrator.routing import Route, parse_routing, resolve_cost_centres
from shops.clients.errors import ApiError, RateLimited, RemoteDown
from shops.clients.types import ErpArticle

T = TypeVar("T")

# A request that surely did nothing (a 5xx, a 429, a refused connection) is simply sent again,
# this many times in all, before the job stops and waits for the next run.
CALL_ATTEMPTS = 6


@dataclass
class OrderRun:
    job: SyncJob
    erp: Any  # the ERP client (VismaClient)
    plugins: Pipeline
    routes: dict[str, Route]
    # Article number → the Visma article, or None when Visma has none by that number.
    articles: dict[str, ErpArticle | None] = field(default_factory=dict)
    # Customer number → Visma customer id, for customers this run already matched or created.
    customers: dict[str, str] = field(default_factory=dict)
    # Booking date → why nothing can be booked on it ("" when the period is open).
    periods: dict[datetime.date, str] = field(default_factory=dict)
    # Per shop connection id: Jetshop channel id → channel name.
    channel_names: dict[int, dict[str, str]] = field(default_factory=dict)
    # Several shops feed this integration: item keys and documents then say which shop.
    multishop: bool = False
    # Set when something only the merchant can fix was reported on the ERP connection: the run
    # must not then mark the connection healthy at its end.
    merchant_told: bool = False

    @classmethod
    def start(cls, job: SyncJob, erp: Any) -> OrderRun:
        integration: Integration = job.integration
        return cls(
            job=job,
            erp=erp,
            plugins=Pipeline.for_integration(integration),
            routes=resolve_cost_centres(parse_routing(integration.options), erp),
            multishop=integration.shops.count() > 1,
        )

    @property
    def integration(self) -> Integration:
        return self.job.integration

    @property
    def makes_orders(self) -> bool:
        return self.integration.order_target == Integration.OrderTarget.ORDER

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, sent again after a pause when the request surely did nothing. A lost
        answer (OutcomeUnknown) is not retried here: the caller must search before writing."""
        for attempt in range(1, CALL_ATTEMPTS + 1):
            try:
                return fn(*args)
            except (RemoteDown, RateLimited) as exc:
                if attempt == CALL_ATTEMPTS:
                    raise
                back_off(exc, attempt)
        raise AssertionError("unreachable")


def back_off(exc: ApiError, attempt: int) -> None:
    """The shared pause; orders search right after it, so a lost write gets time to land."""
    retries.back_off(exc, attempt, let_lost_write_land=True)
