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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._databases import run_child, setup_django, targets, throwaway  # noqa: E402
from bench._results import record  # noqa: E402
from bench._shop_world import (  # noqa: E402
    add_orders,
    jetshop_orders,
    merchant,
    orders_integration,
    sandbox_connection,
)

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
    add_orders(root, jetshop_orders(count, rows))

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
    owner = merchant()
    shop = sandbox_connection(owner, "jetshop", root)
    return orders_integration(owner, shop, sandbox_connection(owner, "visma", root))


def _job(integration):  # type: ignore[no-untyped-def]
    from integrator import services

    job, _created = services.job_enqueue(
        integration=integration, kind="orders", trigger="command", queue=False
    )
    return job


if __name__ == "__main__":
    sys.exit(main())
