"""The page costs a fixed number of queries, however much history a customer has: a year of
jobs, items, payouts and time entries reads no more than a day of them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.status import builders

pytestmark = pytest.mark.django_db

# Every section is one or a few aggregated queries (integrator/status.py); see the report of a
# failure for the list if this needs to change.
MAX_QUERIES = 22


def test_it_reads_a_year_of_history_in_as_few_queries_as_a_day(
    client, now, django_assert_max_num_queries
):
    day = builders.world("Endag AB", tag="DAY")
    builders.history(day, days=1, now=now, orders_per_day=5, articles=5)
    year = builders.world("Helår AB", tag="YEAR")
    builders.history(year, days=365, now=now, orders_per_day=20, articles=40)
    client.get(day.status_url)  # warm up: language catalogues, templates, content types

    with CaptureQueriesContext(connection) as one_day:
        assert client.get(day.status_url).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(year.status_url + "?lang=en")

    assert response.status_code == 200
    with CaptureQueriesContext(connection) as one_year:
        client.get(year.status_url)
    assert len(one_year) == len(one_day), [q["sql"][:120] for q in one_year.captured_queries]
    text = builders.page_text(response)
    assert "Total 280 560 560 14" in text  # orders, stock and price items, payouts: 14 days


def test_it_counts_per_stockholm_day(client, now):
    world = builders.world("Endag AB", tag="DAY")
    builders.history(world, days=3, now=now, orders_per_day=4, articles=2)

    text = builders.page_text(client.get(world.status_url + "?lang=en"))

    assert "Total 12 6 6 3" in text
