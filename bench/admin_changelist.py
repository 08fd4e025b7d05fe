"""Benchmark: the sync-job list in the admin (the page support staff live on) with 1,000,000 jobs.

A year of jobs for 60 integrations of 20 customers (mostly order transfers that succeeded, one
in fifty failed) is bulk-inserted in SQL; the list is requested through Django's test client as
a logged-in superuser: the first page, and filtered by status, kind, customer and created date.
Prints the median response time and the SQL queries of each page, against two baselines from
the same run: the same pages with 10,000 jobs (the page should not care how many there are),
and the same pages at 1,000,000 with Django's own paginator, which counts every matching row.

    PYTHONPATH=. .venv/bin/python bench/admin_changelist.py [--jobs N] [--requests N]

Standalone: a throwaway SQLite file under var/, and a throwaway database on PostgreSQL when one
answers (see bench/_databases.py); each in a child process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._databases import (  # noqa: E402
    QueryLog,
    run_child,
    setup_django,
    targets,
    throwaway,
)
from bench._results import record  # noqa: E402

SMALL = 10_000
CUSTOMERS = 20
INTEGRATIONS_PER_CUSTOMER = 3
WARM_UP = 2
# name → query string of the changelist URL; "created" is filled in with the filter of the
# past seven days (a date range on created_at, as the list filter sends it).
PAGES = {
    "first page": "",
    "status = failed": "status__exact=failed",
    "kind = stock": "kind__exact=stock",
    "one customer": "customer={customer}",
    "created: past 7 days": "{created}",
}


# --- the parent --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=7, help="per page, after warm-ups")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL to use too")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.jobs, args.requests)))
        return 0
    for name, server in targets("changelist", args.postgres):
        with throwaway(name, server, "changelist") as database:
            result = run_child(
                __file__, database, "--jobs", str(args.jobs), "--requests", str(args.requests)
            )
        _report(name, result, args.jobs)
    return 0


def _report(name: str, result: dict[str, Any], jobs: int) -> None:
    small, large, counting = result["small"], result["large"], result["counting"]
    print(
        f"{name}: {jobs:,} jobs inserted in {result['insert_s']:.0f} s; median of "
        f"{result['requests']} requests per page (of it in SQL), queries"
    )
    print(
        f"  {'page':<22} {f'{SMALL:,} jobs':>26} {f'{jobs:,} jobs':>26} "
        f"{'Django paginator':>26}  counts of all matching rows"
    )
    for page in PAGES:
        cells = [
            f"{run[page]['ms']:6.0f} ms ({run[page]['sql_ms']:5.1f} SQL) {run[page]['queries']} q"
            for run in (small, large, counting)
        ]
        print(
            f"  {page:<22} {cells[0]:>26} {cells[1]:>26} {cells[2]:>26}  "
            f"{large[page]['full_counts']} / {counting[page]['full_counts']}"
        )
    for page in PAGES:
        record(
            bench="admin_changelist",
            what=f"admin sync-job list, {jobs:,} jobs, {page}: the page",
            figure=large[page]["ms"],
            unit="ms",
            baseline=small[page]["ms"],
            baseline_what=f"{SMALL:,} jobs",
            database=name,
            note=(
                f"{large[page]['sql_ms']:.1f} ms of it in SQL, {large[page]['queries']} queries; "
                f"at {SMALL:,}: {small[page]['sql_ms']:.1f} ms, {small[page]['queries']}"
            ),
        )
    for page in ("first page", "status = failed"):
        record(
            bench="admin_changelist",
            what=f"admin sync-job list, {jobs:,} jobs, {page}: SQL, Django's counting paginator",
            figure=counting[page]["sql_ms"],
            unit="ms",
            baseline=large[page]["sql_ms"],
            baseline_what="ours",
            database=name,
        )
    record(
        bench="admin_changelist",
        what=f"admin sync-job list, {jobs:,} jobs: the date hierarchy's one query (replaced)",
        figure=result["date_hierarchy_ms"],
        unit="ms",
        baseline=large["created: past 7 days"]["ms"],
        baseline_what="the whole page with the created filter",
        database=name,
    )
    record(
        bench="admin_changelist",
        what=f"admin sync-job list, {jobs:,} jobs: SQL queries, most of any page",
        figure=max(large[page]["queries"] for page in PAGES),
        unit="queries",
        baseline=max(small[page]["queries"] for page in PAGES),
        baseline_what=f"{SMALL:,} jobs",
        database=name,
    )


# --- the child ---------------------------------------------------------------------------------


def child(database_url: str, jobs: int, requests: int) -> dict[str, Any]:
    setup_django(database_url)
    from django.conf import settings
    from django.contrib import admin
    from django.core.paginator import Paginator
    from django.test.utils import setup_test_environment

    from integrator.models import SyncJob

    setup_test_environment()
    settings.DEBUG = False
    customer, integrations = _world()
    started = time.perf_counter()
    _insert(integrations, 0, min(SMALL, jobs), jobs)
    small = _measure_pages(customer, requests)
    _insert(integrations, min(SMALL, jobs), jobs, jobs)
    inserted = time.perf_counter() - started
    large = _measure_pages(customer, requests)
    hierarchy = _date_hierarchy_ms()
    job_admin = admin.site._registry[SyncJob]
    ours = job_admin.paginator
    job_admin.paginator = Paginator
    try:
        counting = _measure_pages(customer, requests)
    finally:
        job_admin.paginator = ours
    return {
        "insert_s": inserted,
        "requests": requests,
        "small": small,
        "large": large,
        "counting": counting,
        "date_hierarchy_ms": hierarchy,
    }


def _date_hierarchy_ms() -> float:
    """What the list's date hierarchy (replaced by the "created" filter) asked on every view:
    the years that have jobs, which reads the date of every job."""
    from integrator.models import SyncJob

    started = time.perf_counter()
    list(SyncJob.objects.dates("created_at", "year"))
    return (time.perf_counter() - started) * 1000


def _world() -> tuple[Any, list[int]]:
    """Customers, their integrations and a superuser; returns one customer and the
    integrations' ids."""
    from django.contrib.auth.models import User

    from tests import factories

    User.objects.create_superuser("bench", "bench@example.se", "bench")
    integrations = []
    for n in range(CUSTOMERS):
        owner = factories.customer(
            name=f"Kund {n:02d} AB", organisation_number=factories.organisation_number(n + 1)
        )
        erp = factories.connection(owner, "visma")
        for shop_no in range(INTEGRATIONS_PER_CUSTOMER):
            shop = factories.connection(owner, "jetshop", name=f"Butik {shop_no}")
            integrations.append(
                factories.integration(owner, erp, [shop], name=f"Butik {shop_no} → Visma").pk
            )
    return owner, integrations


def _insert(integrations: list[int], first: int, last: int, total: int) -> None:
    """Jobs number first+1 … last of `total`, spread over the year before now, newest first,
    in one INSERT … SELECT over a generated series (generate_series on PostgreSQL, a recursive
    CTE on SQLite): no Python per row."""
    from django.db import connection

    if last <= first:
        return
    seconds_apart = 365 * 24 * 3600 / total
    kinds = ["orders"] * 4 + ["stock", "prices", "order_status", "products"]
    kind = "CASE n % 8 " + " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(kinds)) + " END"
    status = (
        "CASE WHEN n % 50 = 0 THEN 'failed' WHEN n % 50 = 1 THEN 'partial' "
        "WHEN n % 500 = 2 THEN 'cancelled' ELSE 'succeeded' END"
    )
    error = (
        "CASE WHEN n % 50 = 0 THEN 'Visma eEkonomi answered 400: the article is missing.' "
        "ELSE '' END"
    )
    if connection.vendor == "postgresql":
        series = f"SELECT n FROM generate_series({first + 1}, {last}) AS n"

        def created(after: int = 0) -> str:
            return f"now() - n * interval '{seconds_apart} seconds' + interval '{after} seconds'"
    else:
        series = (
            f"WITH RECURSIVE s(n) AS (SELECT {first + 1} UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {last}) SELECT n FROM s"
        )

        def created(after: int = 0) -> str:
            ago = f"CAST(n * {seconds_apart} AS INTEGER) - {after}"
            return f"datetime('now', '-' || ({ago}) || ' seconds')"

    ids = ",".join(str(pk) for pk in integrations)
    integration = (
        f"(CASE n % {len(integrations)} "
        + " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(ids.split(",")))
        + " END)"
    )
    sql = f"""
        INSERT INTO integrator_syncjob (
            integration_id, kind, status, progress_done, progress_total, transferred, skipped,
            failed, attempts, created_at, started_at, heartbeat_at, finished_at, error,
            error_detail, trigger, started_by_id, retry_of_id, options
        )
        SELECT {integration}, {kind}, {status}, 3 + n % 40, 3 + n % 40, 3 + n % 40 - n % 3, n % 3,
            CASE WHEN n % 50 = 0 THEN 1 ELSE 0 END, 1, {created()}, {created(1)}, {created(30)},
            {created(30)}, {error}, NULL,
            CASE WHEN n % 100 = 0 THEN 'manual' ELSE 'schedule' END, NULL, NULL, '{{}}'
        FROM ({series}) AS numbers
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        # What autovacuum would have done long ago on a real year-old table.
        cursor.execute("ANALYZE")


def _measure_pages(customer: Any, requests: int) -> dict[str, dict[str, Any]]:
    import datetime
    from urllib.parse import urlencode

    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    client = Client()
    client.login(username="bench", password="bench")
    url = reverse("admin:integrator_syncjob_changelist")
    # The link the "created" filter itself offers for "Past 7 days".
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    created = urlencode(
        {
            "created_at__gte": str(today - datetime.timedelta(days=7)),
            "created_at__lt": str(today + datetime.timedelta(days=1)),
        }
    )
    measured = {}
    for page, query in PAGES.items():
        target = f"{url}?{query.format(customer=customer.pk, created=created)}"
        for _ in range(WARM_UP):
            assert client.get(target).status_code == 200
        log = QueryLog()
        with connection.execute_wrapper(log):
            response = client.get(target)
        assert response.status_code == 200, (target, response.status_code)
        assert response.content.decode().count('class="action-select"') > 0, target
        times, in_sql = [], []
        for _ in range(requests):
            timed = QueryLog()
            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                client.get(target)
            times.append((time.perf_counter() - started) * 1000)
            in_sql.append(sum(ms for ms, _sql in timed.queries))
        measured[page] = {
            "ms": statistics.median(times),
            "sql_ms": statistics.median(in_sql),
            "queries": len(log.queries),
            "full_counts": sum(1 for _ms, sql in log.queries if _reads_all(sql)),
        }
    return measured


def _reads_all(sql: str) -> bool:
    """A COUNT that reads every matching row: one without a LIMIT inside it."""
    return "COUNT(" in sql.upper() and "LIMIT" not in sql.upper()


if __name__ == "__main__":
    sys.exit(main())
