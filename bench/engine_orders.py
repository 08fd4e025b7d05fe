"""Benchmark: the orders flow, Jetshop → Visma invoices, through the real clients and the
sandbox (in-process, on a free port, no latency, no faults). Reports orders per second and SQL
queries per order at two sizes and two order widths, and the ratio between them: the queries
per order must stay flat as the job and the orders grow.

    PYTHONPATH=. .venv/bin/python bench/engine_orders.py [--orders N] [--postgres URL]

Standalone. Runs on a throwaway SQLite file under var/, and also on PostgreSQL when --postgres
or DATABASE_URL names a server, or when one answers at 127.0.0.1:5432 (as postgres): a
throwaway database is created there and dropped at the end. Each database runs in its own
child process (Django is set up once per process).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._databases import run_child, setup_django, targets, throwaway  # noqa: E402
from bench._results import record  # noqa: E402

SMALL = 200


# --- the parent: one child per database, then the table ---------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="orders in the large run")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL to use too")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders)))
        return 0
    results: list[tuple[str, list[dict[str, Any]]]] = []
    for name, server in targets("orders", args.postgres):
        with throwaway(name, server, "orders") as database:
            results.append((name, run_child(__file__, database, "--orders", str(args.orders))))
    _table(results)
    for name, (small, large, wide) in results:
        _record(name, small, large, wide)
    return 0


def _record(name: str, small: dict[str, Any], large: dict[str, Any], wide: dict[str, Any]) -> None:
    record(
        bench="engine_orders",
        what=f"engine: orders/s, {large['orders']} orders of {large['rows']} rows to Visma",
        figure=large["orders_per_s"],
        unit="orders/s",
        baseline=small["orders_per_s"],
        baseline_what=f"{small['orders']} orders",
        database=name,
    )
    record(
        bench="engine_orders",
        what=f"engine: SQL queries per order, {large['orders']} orders",
        figure=large["queries_per_order"],
        unit="queries",
        baseline=small["queries_per_order"],
        baseline_what=f"{small['orders']} orders",
        database=name,
    )
    record(
        bench="engine_orders",
        what=f"engine: SQL queries per order, {wide['rows']} rows per order",
        figure=wide["queries_per_order"],
        unit="queries",
        baseline=small["queries_per_order"],
        baseline_what=f"{small['rows']} rows",
        database=name,
    )


def _table(results: list[tuple[str, list[dict[str, Any]]]]) -> None:
    print(
        f"{'database':<11} {'orders':>6} {'rows':>4} {'seconds':>8} {'orders/s':>9} "
        f"{'queries/order':>14} {'requests/order':>15}"
    )
    for name, runs in results:
        for run in runs:
            print(
                f"{name:<11} {run['orders']:>6} {run['rows']:>4} {run['seconds']:>8.2f} "
                f"{run['orders_per_s']:>9.1f} {run['queries_per_order']:>14.2f} "
                f"{run['requests_per_order']:>15.2f}"
            )
        small, large, wide = runs
        print(
            f"{name:<11} queries/order {large['orders']}÷{small['orders']} orders: "
            f"{large['queries_per_order'] / small['queries_per_order']:.2f}×; "
            f"{wide['rows']}÷{small['rows']} rows: "
            f"{wide['queries_per_order'] / small['queries_per_order']:.2f}× (flat is 1.00×)"
        )


# --- the child: Django on one database, the sandbox in-process, three runs ---------------------


def child(database_url: str, orders: int) -> list[dict[str, Any]]:
    setup_django(database_url)
    from django.conf import settings

    from shops.sandbox.server import SandboxServer
    from shops.sandbox.state import SandboxOptions

    settings.RATE_LIMITS = {"visma": None, "jetshop": None}
    server = SandboxServer("127.0.0.1", 0, SandboxOptions(rate_limit=10**9))
    server.start_in_thread()
    try:
        return [
            _measure(server.url, SMALL, 2),
            _measure(server.url, orders, 2),
            _measure(server.url, SMALL, 10),
        ]
    finally:
        server.stop()


def _measure(root: str, count: int, rows: int) -> dict[str, Any]:
    import requests
    from django.db import connection

    from integrator import services
    from integrator.models import SyncJob
    from shops.clients.base import ApiClient

    requests.post(f"{root}/_sandbox/reset", timeout=10).raise_for_status()
    integration = _integration(root)
    # Only the generated orders: the demo ones are already behind the cursor.
    services.job_run(job_id=_job(integration).pk)
    requests.post(
        f"{root}/_sandbox/jetshop/orders",
        json={"shop": "norrsken", "orders": _orders(count, rows)},
        timeout=60,
    ).raise_for_status()

    # Counted around the measured job only: SQL statements, and HTTP requests to the sandbox.
    queries = 0
    sent = 0
    original_send = ApiClient.send

    def counting_send(self, method, url, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal sent
        sent += 1
        return original_send(self, method, url, **kwargs)

    def count_queries(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    job = _job(integration)
    started = time.perf_counter()
    ApiClient.send = counting_send  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(count_queries):
            services.job_run(job_id=job.pk)
    finally:
        ApiClient.send = original_send  # type: ignore[method-assign]
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == SyncJob.Status.SUCCEEDED, (job.status, job.error)
    assert job.transferred == count, (job.transferred, count)
    return {
        "orders": count,
        "rows": rows,
        "seconds": seconds,
        "orders_per_s": count / seconds,
        "queries_per_order": queries / count,
        "requests_per_order": sent / count,
    }


def _integration(root: str):  # type: ignore[no-untyped-def]
    import datetime

    from stdnum import luhn

    from billing.models import Customer, Package, Subscription
    from integrator.models import Integration
    from shops.models import Connection
    from shops.sandbox.demo_data import NORRSKEN, demo_connection

    base = f"5569{Customer.objects.count():05d}"
    owner = Customer.objects.create(
        name=f"Bench {base} AB",
        organisation_number=f"{base[:6]}-{base[6:]}{luhn.calc_check_digit(base)}",
    )
    Subscription.objects.create(
        customer=owner,
        package=Package.objects.get(code="800"),
        start_date=datetime.date(2026, 1, 1),
    )
    connections = []
    for platform, system in (
        (Connection.Platform.JETSHOP, "jetshop"),
        (Connection.Platform.VISMA, "visma"),
    ):
        base_url, credentials = demo_connection(system, NORRSKEN, root)
        connection = Connection(customer=owner, name=system, platform=platform, base_url=base_url)
        connection.credentials = credentials
        connection.save()
        connections.append(connection)
    integration = Integration.objects.create(
        customer=owner, name="bench", flow=Integration.Flow.ERP_MASTER, erp=connections[1]
    )
    integration.shops.set([connections[0]])
    return integration


def _job(integration):  # type: ignore[no-untyped-def]
    from integrator import services

    job, _created = services.job_enqueue(
        integration=integration, kind="orders", trigger="command", queue=False
    )
    return job


def _orders(count: int, rows: int) -> list[dict[str, Any]]:
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


if __name__ == "__main__":
    sys.exit(main())
