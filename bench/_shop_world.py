"""Merchants, connections to the sandbox and generated Jetshop orders for the engine benchmarks
(in a process where Django is set up)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any


def merchant(package: str = "800") -> Any:
    """A new customer with a valid organisation number of its own and a subscription."""
    from stdnum import luhn

    from billing.models import Customer, Package, Subscription

    base = f"5569{Customer.objects.count():05d}"
    owner = Customer.objects.create(
        name=f"Bench {base} AB",
        organisation_number=f"{base[:6]}-{base[6:]}{luhn.calc_check_digit(base)}",
    )
    Subscription.objects.create(
        customer=owner,
        package=Package.objects.get(code=package),
        start_date=datetime.date(2026, 1, 1),
    )
    return owner


def sandbox_connection(owner: Any, system: str, root: str, tenant: str = "") -> Any:
    """A connection of `owner` to the sandbox's demo tenant (the Norrsken shop by default)."""
    from shops.models import Connection
    from shops.sandbox.demo_data import NORRSKEN, demo_connection

    base_url, credentials = demo_connection(system, tenant or NORRSKEN, root)
    connection = Connection(
        customer=owner, name=f"{system} {uuid.uuid4().hex[:4]}", platform=system, base_url=base_url
    )
    connection.credentials = credentials
    connection.save()
    return connection


def orders_integration(owner: Any, shop: Any, erp: Any, name: str = "bench") -> Any:
    """Jetshop → Visma, the ERP-master flow (orders go to Visma as invoices)."""
    from integrator.models import Integration

    integration = Integration.objects.create(
        customer=owner, name=name, flow=Integration.Flow.ERP_MASTER, erp=erp
    )
    integration.shops.set([shop])
    return integration


def jetshop_orders(count: int, rows: int) -> list[dict[str, Any]]:
    """Orders of `rows` article rows each (plus shipping under 500 kr); buyers: a few hundred
    returning shoppers, some guests, some companies — like a real shop's month."""
    from shops.sandbox.demo_data import ARTICLES, NORRSKEN, SHIPPING_ARTICLE
    from shops.sandbox.demo_jetshop import private_buyer

    catalogue = [a for a in ARTICLES[NORRSKEN] if a[0] != SHIPPING_ARTICLE]
    made = []
    for n in range(count):
        items = [
            {
                "PartNo": catalogue[(n + i) % len(catalogue)][0],
                "Quantity": 1 + (n + i) % 3,
                "UnitPrice": catalogue[(n + i) % len(catalogue)][3],
                "VatRate": catalogue[(n + i) % len(catalogue)][2],
            }
            for i in range(rows)
        ]
        code = f"C-{n % 300}" if n % 4 else ""
        made.append(
            {
                "OrderNo": f"B{uuid.uuid4().hex[:6]}-{n}",
                "StatusId": 2,
                "BillTo": private_buyer(
                    "Anna", f"Bench{n % 300}", "Storgatan 1", "111 21", "Stockholm", code=code
                ),
                "Items": items,
            }
        )
    return made


def add_orders(root: str, orders: list[dict[str, Any]]) -> None:
    """New orders in the sandbox's Norrsken shop."""
    import requests

    from shops.sandbox.demo_data import NORRSKEN

    requests.post(
        f"{root}/_sandbox/jetshop/orders", json={"shop": NORRSKEN, "orders": orders}, timeout=120
    ).raise_for_status()
