"""A Jetshop / Norce sandbox shop: its orders, indexed so that polling stays fast at benchmark
volume, its catalogue (products, price lists, prices, stock per warehouse/location), its channels,
the import jobs Connect has accepted, and what the tests read (writes per natural key, status
updates and e-mails, captures)."""

from __future__ import annotations

import bisect
import copy
import dataclasses
import datetime
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from shops.sandbox import demo_data, demo_jetshop
from shops.sandbox.state import parse_datetime

OPEN_STATUSES = (0, 1, 2, 3, 8)  # orders whose goods are still on the shelf, held for them


def _order_key(order: dict[str, Any]) -> tuple[datetime.datetime, int]:
    return parse_datetime(str(order["Updated"])), int(order["Id"])


@dataclasses.dataclass
class Shop:
    slug: str
    application_id: int
    clients: dict[str, str]  # client_id -> secret
    channels: list[tuple[int, str, str, str]]
    products: dict[str, dict[str, Any]]
    price_lists: dict[str, dict[str, Any]]
    prices: dict[tuple[str, str], dict[str, Any]]
    onhands: dict[tuple[str, str, str], dict[str, Any]]
    token_requests: int = 0
    jobs: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    next_job_id: int = 9001
    writes: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    status_updates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    emails: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    invoices: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # Orders by Id, and (Updated, Id) in order: a cursor poll is a bisect, not a scan.
    by_id: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    by_client_ref: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    by_updated: list[tuple[datetime.datetime, int]] = dataclasses.field(default_factory=list)

    @classmethod
    def demo(cls, tenant: str) -> Shop:
        credentials = demo_data.DEMO_CREDENTIALS["jetshop"][tenant]
        catalogue = demo_jetshop.catalogue(tenant)
        shop = cls(
            slug=tenant,
            application_id=int(credentials["application_id"]),
            clients={credentials["client_id"]: credentials["client_secret"]},
            channels=catalogue["channels"],
            products=catalogue["products"],
            price_lists=catalogue["price_lists"],
            prices=catalogue["prices"],
            onhands=catalogue["onhands"],
        )
        for order in demo_jetshop.jetshop_orders(tenant):
            shop.add_order(order)
        return shop

    # --- orders --------------------------------------------------------------------------------

    @property
    def orders(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())

    @property
    def next_id(self) -> int:
        return max(self.by_id, default=0) + 1

    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        self.by_id[int(order["Id"])] = order
        self.by_client_ref[int(order["ClientOrderRef"])] = order
        bisect.insort(self.by_updated, _order_key(order))
        return order

    def change_order(self, order: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Apply `changes` (which should bump Updated) and keep the index in step."""
        old = _order_key(order)
        index = bisect.bisect_left(self.by_updated, old)
        if index < len(self.by_updated) and self.by_updated[index] == old:
            del self.by_updated[index]
        order.update(changes)
        bisect.insort(self.by_updated, _order_key(order))
        return order

    def orders_after(
        self, updated: datetime.datetime, order_id: int, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Orders later than (updated, id) in (Updated, Id) order: what a cursor poll wants."""
        start = bisect.bisect_right(self.by_updated, (updated, order_id))
        end = None if limit is None else start + limit
        return [self.by_id[i] for _u, i in self.by_updated[start:end]]

    def in_update_order(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        return [self.by_id[i] for _u, i in self.by_updated[:limit]]

    def find_order(self, client_ref: Any, erp_order_no: Any) -> dict[str, Any] | None:
        if client_ref not in (None, "", 0):
            return self.by_client_ref.get(int(client_ref))
        wanted = str(erp_order_no or "")
        if not wanted:
            return None
        return next(
            (o for o in self.by_id.values() if wanted in (o.get("ErpOrderNo"), o["OrderNo"])),
            None,
        )

    # --- stock ---------------------------------------------------------------------------------

    def reserved(self) -> Counter[str]:
        """What open orders hold, per PartNo: Norce keeps it off the available quantity."""
        held: Counter[str] = Counter()
        for order in self.by_id.values():
            if int(order.get("StatusId") or 0) in OPEN_STATUSES:
                for item in order.get("Items") or []:
                    held[str(item.get("PartNo"))] += int(item.get("Quantity") or 0)
        return held

    def onhand_rows(self) -> list[dict[str, Any]]:
        """On hand per warehouse/location; the reservation sits on each article's first one."""
        held = self.reserved()
        rows, seen = [], set()
        for (part_no, _warehouse, _location), row in sorted(self.onhands.items()):
            reserved = Decimal(held.get(part_no, 0)) if part_no not in seen else Decimal(0)
            seen.add(part_no)
            rows.append({**row, "ReservedValue": reserved})
        return rows

    def snapshot(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "channels": [c[0] for c in self.channels],
            "orders": self.orders,
            "token_requests": self.token_requests,
            "products": list(self.products.values()),
            "price_lists": list(self.price_lists.values()),
            "prices": list(self.prices.values()),
            "stock": self.onhand_rows(),
            "jobs": [
                {k: v for k, v in job.items() if not k.startswith("_")}
                for job in self.jobs.values()
            ],
            "writes": {k: dict(v) for k, v in self.writes.items()},
            "status_updates": self.status_updates,
            "emails": self.emails,
            "invoices": list(self.invoices.values()),
        }


def copy_order(order: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(order)
