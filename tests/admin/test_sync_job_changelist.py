"""The sync-job list support staff live on stays cheap however many jobs there are: the same
queries for five jobs as for two pages of them, and no count of every job in the table (a
million of them is measured by bench/admin_changelist.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrator.admin_paginator import EstimatedCountPaginator
from integrator.models import SyncJob
from tests import factories

pytestmark = pytest.mark.django_db

URL = "admin:integrator_syncjob_changelist"


@pytest.fixture
def integration():
    owner = factories.customer(name="Kaffebönan AB", package_code="400")
    erp = factories.connection(owner, "visma")
    return factories.integration(owner, erp, [factories.connection(owner, "jetshop")])


def _jobs(integration, count: int, status: str = SyncJob.Status.SUCCEEDED) -> None:
    SyncJob.objects.bulk_create(
        SyncJob(integration=integration, kind="orders", status=status, trigger="schedule")
        for _ in range(count)
    )


def _failed_jobs_page(admin_client) -> tuple[str, CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(
            reverse(URL), {"status__exact": "failed"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    return response.content.decode(), queries


def _counts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_it_lists_two_pages_of_jobs_in_as_few_queries_as_five(
    admin_client, integration, django_assert_max_num_queries
):
    _jobs(integration, 5)
    admin_client.get(reverse(URL))  # warm up: session, content types, translations
    with CaptureQueriesContext(connection) as five:
        admin_client.get(reverse(URL))
    _jobs(integration, 150)

    with django_assert_max_num_queries(len(five)):
        response = admin_client.get(reverse(URL), HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert html.count('class="action-select"') == 100  # one page of the 155
    assert "155 sync jobs" in html


def test_it_counts_only_the_filtered_jobs_and_stops_reading_at_the_limit(admin_client, integration):
    _jobs(integration, 3, SyncJob.Status.FAILED)
    _jobs(integration, 40)

    html, queries = _failed_jobs_page(admin_client)

    assert html.count('class="action-select"') == 3
    assert "3 sync jobs" in html
    counts = _counts(queries)
    assert counts, "the page counts the jobs it lists"
    # One count, of the failed jobs only, that reads at most exact_up_to + 1 rows; no count of
    # the whole table for "n of N" (show_full_result_count = False).
    assert len(counts) == 1
    assert "WHERE" in counts[0].upper() and "LIMIT" in counts[0].upper()


def test_it_estimates_on_postgresql_above_the_limit_instead_of_counting_every_job(
    admin_client, integration, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 5)
    _jobs(integration, 12, SyncJob.Status.FAILED)
    _jobs(integration, 4)

    html, queries = _failed_jobs_page(admin_client)

    shown = html.count('class="action-select"')
    listed = html.split('id="result_list"')[1].split("</table>")[0]
    assert 6 <= shown <= 12 and "Failed" in listed and "Succeeded" not in listed
    counts = _counts(queries)
    explains = [q for q in queries.captured_queries if q["sql"].startswith("EXPLAIN")]
    if connection.vendor == "postgresql":
        # The planner's estimate: nothing counts the failed jobs beyond the sixth.
        assert all("LIMIT" in sql.upper() for sql in counts)
        assert len(explains) == 1
    else:
        # SQLite (a laptop) counts the failed jobs exactly, still never the whole table.
        assert shown == 12 and "12 sync jobs" in html
        assert not explains
    assert all("WHERE" in sql.upper() for sql in counts)
