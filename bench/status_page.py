"""Benchmark: the merchant's status page with a year of history.

A customer with a year of everyday life (order transfers all day, a stock and a price update
every day, a Klarna payout every day with its lines, orders counted against the quota, weekly
time entries), and in the same run a customer with one day of the same life as the baseline.
Each page is requested through Django's test client; prints the median and p95 response time,
the queries per request, and the ratio year / day.

    PYTHONPATH=. .venv/bin/python bench/status_page.py [--requests N] [--orders-per-day N]
        [--articles N]

Standalone: sets Django up itself on a throwaway database (a SQLite file under var/, or a
bench_status_<pid> database on DATABASE_URL's server), which it removes at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrator.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._databases import QueryLog  # noqa: E402
from bench._results import record  # noqa: E402
from billing.models import TimeEntry, TransferredOrder  # noqa: E402
from integrator.models import SyncItem, SyncJob  # noqa: E402
from ledger.models import Payout, PayoutLine  # noqa: E402
from tests.status import builders  # noqa: E402

WARM_UP = 3


def measure(client: Client, url: str, requests: int) -> tuple[list[float], QueryLog]:
    for _ in range(WARM_UP):
        assert client.get(url).status_code == 200
    log = QueryLog()
    with connection.execute_wrapper(log):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return times, log


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def rows(world: builders.World) -> dict[str, int]:
    customer = world.customer
    return {
        "jobs": SyncJob.objects.filter(integration__customer=customer).count(),
        "items": SyncItem.objects.filter(job__integration__customer=customer).count(),
        "payouts": Payout.objects.filter(connection__customer=customer).count(),
        "payout lines": PayoutLine.objects.filter(payout__connection__customer=customer).count(),
        "counted orders": TransferredOrder.objects.filter(customer=customer).count(),
        "time entries": TimeEntry.objects.filter(customer=customer).count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--orders-per-day", type=int, default=40)
    parser.add_argument("--articles", type=int, default=200, help="stock and price items a day")
    parser.add_argument("--verbose", action="store_true", help="print the slowest queries")
    args = parser.parse_args()

    setup_test_environment()
    settings.DEBUG = False
    # The benchmark asks far more often than any merchant may.
    settings.STATUS_RATE_LIMIT_PER_IP = 0
    settings.STATUS_RATE_LIMIT_PER_TOKEN = 0
    if connection.vendor != "sqlite":
        # A name of our own: test_<name> may be another test run's database on a shared server.
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_status_{os.getpid()}"
    database = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        now = timezone.now()
        started = time.perf_counter()
        day = builders.world("Endag AB", tag="DAY")
        builders.history(
            day, days=1, now=now, orders_per_day=args.orders_per_day, articles=args.articles
        )
        year = builders.world("Helår AB", tag="YEAR")
        builders.history(
            year, days=365, now=now, orders_per_day=args.orders_per_day, articles=args.articles
        )
        built = time.perf_counter() - started
        with connection.cursor() as cursor:
            # As autovacuum would have done long ago on a year-old database.
            cursor.execute("ANALYZE")
        history = ", ".join(f"{n} {what}" for what, n in rows(year).items())

        client = Client()
        day_times, day_queries = measure(client, day.status_url, args.requests)
        year_times, year_queries = measure(client, year.status_url, args.requests)
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)

    print(
        f"status page, {args.requests} requests each after {WARM_UP} warm-ups ({connection.vendor})"
    )
    print(f"a year of history: {history} (built in {built:.1f} s)")
    for label, times, log in (
        ("1 day of history   ", day_times, day_queries),
        ("365 days of history", year_times, year_queries),
    ):
        spent = sum(ms for ms, _sql in log.queries)
        print(
            f"{label}: median {statistics.median(times):6.1f} ms  p95 {p95(times):6.1f} ms  "
            f"{len(log.queries)} queries ({spent:.1f} ms in the database, one request)"
        )
    if args.verbose:
        for ms, sql in sorted(year_queries.queries, reverse=True)[:5]:
            print(f"  {ms:6.1f} ms  {sql[:160]}")
    ratio = statistics.median(year_times) / statistics.median(day_times)
    print(f"ratio: a year of history takes {ratio:.2f}x the time of a day (median)")
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[connection.vendor]
    record(
        bench="status_page",
        what="status page, a year of history: median response",
        figure=statistics.median(year_times),
        unit="ms",
        baseline=statistics.median(day_times),
        baseline_what="one day of history",
        database=database,
    )
    record(
        bench="status_page",
        what="status page, a year of history: SQL queries per request",
        figure=len(year_queries.queries),
        unit="queries",
        baseline=len(day_queries.queries),
        baseline_what="one day of history",
        database=database,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
