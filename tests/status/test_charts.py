"""The quota and payout charts: drawn by the server as inline SVG, with the numbers in words for
a screen reader and as text beside them; no script anywhere."""

from __future__ import annotations

import datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.utils import translation

from billing.quota import QuotaUsage
from integrator.status_money import CurrencyMonths, MonthTotal
from integrator.templatetags.status_charts import payout_svg, quota_svg
from tests.status.builders import page_text

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def usage(used_per_day: list[int], quota: int | None) -> QuotaUsage:
    first = datetime.date(2026, 6, 1)
    used = sum(used_per_day)
    return QuotaUsage(
        month=first,
        used=used,
        quota=quota,
        percent=used * 100 // quota if quota else None,
        overage=max(0, used - quota) if quota else 0,
        per_day=[(first + datetime.timedelta(days=n), c) for n, c in enumerate(used_per_day)],
    )


def test_it_draws_the_months_orders_against_the_quota():
    svg = ElementTree.fromstring(quota_svg(usage([40, 0, 60, 50], quota=200)))

    assert svg.find(f"{SVG}title").text == "Orders in June 2026 against the package quota"
    assert svg.find(f"{SVG}desc").text == "150 of 200 orders used (75 %)."
    assert svg.get("role") == "img"
    assert len(svg.findall(f"{SVG}rect")) == 3  # a bar for each day with orders
    assert len(svg.find(f"{SVG}polyline").get("points").split()) == 4  # the running total
    assert "Quota 200" in [t.text for t in svg.findall(f"{SVG}text")]


def test_it_says_how_many_orders_went_over_the_quota():
    svg = ElementTree.fromstring(quota_svg(usage([80, 40], quota=100)))

    assert svg.find(f"{SVG}desc").text == (
        "120 of 100 orders used (120 %). 20 orders over the quota."
    )


def test_it_draws_a_package_without_a_quota():
    svg = ElementTree.fromstring(quota_svg(usage([3], quota=None)))

    assert svg.find(f"{SVG}desc").text == ("3 orders transferred; the package has no fixed quota.")


def test_it_draws_the_payouts_per_month_with_the_amounts_in_words():
    months = [
        MonthTotal(datetime.date(2026, m, 1), Decimal(net), n)
        for m, net, n in ((4, "0.00", 0), (5, "12500.50", 9), (6, "8000.00", 4))
    ]
    svg = ElementTree.fromstring(payout_svg(CurrencyMonths("SEK", 13, months)))

    assert svg.find(f"{SVG}title").text == "Paid out per month (SEK)"
    assert svg.find(f"{SVG}desc").text == (
        "April 2026: 0.00 SEK; May 2026: 12,500.50 SEK; June 2026: 8,000.00 SEK"
    )
    assert len(svg.findall(f"{SVG}rect")) == 2


@pytest.mark.django_db
def test_it_shows_the_charts_numbers_as_text_on_the_page(client, kaffe):
    response = client.get(kaffe.status_url + "?lang=en")
    body = response.content.decode()

    assert body.count("<svg") == 2 and "<script" not in body
    text = page_text(response)
    assert "Paid out per month as numbers" in text
    assert "2 3,650.00" in text  # this month: two payouts, their net
