"""A paginator for tables that grow without end (sync jobs): it never counts the whole table.

Django's admin asks the paginator for the number of rows on every list page, and its paginator
answers with SELECT COUNT(*), which reads every matching row: on a million sync jobs that is
the slowest part of the page support staff open most. Here the rows are counted only up to
EXACT_UP_TO (reading at most that many); above it PostgreSQL's planner estimate is used (its
statistics from ANALYZE/autovacuum, the same numbers it plans with), which costs no reading at
all. Other databases (SQLite on a laptop) count exactly above the limit.

The price of an estimate: the number of rows and pages is approximate above EXACT_UP_TO, so the
last page may come out short or empty. Nobody pages to page 4,000 of the jobs; they filter.
"""

from __future__ import annotations

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet

EXACT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    exact_up_to = EXACT_UP_TO

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return super().count
        # Only the primary keys and no ordering: the cheapest rows to count, and the LIMIT stops
        # the reading at exact_up_to + 1.
        keys = rows.order_by().values("pk")
        counted = keys[: self.exact_up_to + 1].count()
        if counted <= self.exact_up_to:
            return counted
        if connections[rows.db].vendor == "postgresql":
            return max(counted, planner_estimate(keys))
        return keys.count()


def planner_estimate(rows: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows `rows` returns, without running it."""
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns the JSON decoded; other drivers may not
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
