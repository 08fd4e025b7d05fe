"""Payouts over time, one chart per currency: the admin's payout list and the merchant's status
page draw a small chart for each currency present, the one with most payouts first, each titled
with its currency; an amount in one currency is never added to another. One grouped query
serves every currency."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledger import charts
from ledger.models import Payout
from tests import factories
from tests.status import builders

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"
CHANGELIST = "admin:ledger_payout_changelist"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MONDAY = datetime.date(2026, 11, 2)
D = Decimal


def _payout(gateway, reference: str, day: datetime.date, currency: str, net: str) -> Payout:
    return Payout.objects.create(
        connection=gateway,
        reference=reference,
        payout_date=day,
        currency=currency,
        gross=D(net),
        net=D(net),
    )


@pytest.fixture
def gateway(merchant):
    return factories.gateway_integration(merchant, "paypal").gateway


@pytest.fixture
def sek_and_eur(gateway):
    """Three SEK payouts over two weeks and two EUR payouts in one week."""
    _payout(gateway, "S1", MONDAY, "SEK", "1000.00")
    _payout(gateway, "S2", MONDAY + datetime.timedelta(days=2), "SEK", "250.50")
    _payout(gateway, "S3", MONDAY + datetime.timedelta(weeks=1), "SEK", "-80.00")
    _payout(gateway, "E1", MONDAY + datetime.timedelta(days=1), "EUR", "90.00")
    _payout(gateway, "E2", MONDAY + datetime.timedelta(days=3), "EUR", "10.25")


def _charts(html: str) -> list[ElementTree.Element]:
    """The payout list's charts, parsed."""
    block = (
        html.split('id="payout-chart"', 1)[1].split("</div>", 1)[0]
        if "payout-chart" in html
        else ""
    )
    return [ElementTree.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", block, flags=re.S)]


def _status_charts(html: str) -> list[ElementTree.Element]:
    found = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.S)
    return [ElementTree.fromstring(m) for m in found]


def _bars(svg: ElementTree.Element) -> list[str]:
    """What each bar says when pointed at: "2026-11-02: 1,250.50 SEK"."""
    return [rect.find(f"{SVG}title").text for rect in svg.iter(f"{SVG}rect")]


def test_the_payout_list_draws_one_chart_per_currency(admin_client, sek_and_eur):
    html = admin_client.get(reverse(CHANGELIST), **EN).content.decode()

    sek, eur = _charts(html)
    assert sek.find(f"{SVG}title").text == "Net paid out per week (SEK)"
    assert _bars(sek) == ["2026-11-02: 1,250.50 SEK", "2026-11-09: -80.00 SEK"]
    assert eur.find(f"{SVG}title").text == "Net paid out per week (EUR)"
    assert _bars(eur) == ["2026-11-02: 100.25 EUR"]


def test_the_currency_with_most_payouts_comes_first(admin_client, gateway, sek_and_eur):
    for n in range(3):
        _payout(gateway, f"E-more-{n}", MONDAY + datetime.timedelta(weeks=3), "EUR", "1.00")

    html = admin_client.get(reverse(CHANGELIST), **EN).content.decode()

    titles = [svg.find(f"{SVG}title").text for svg in _charts(html)]
    assert titles == ["Net paid out per week (EUR)", "Net paid out per week (SEK)"]


def test_the_list_filtered_to_one_currency_draws_only_it(admin_client, sek_and_eur):
    html = admin_client.get(reverse(CHANGELIST), {"currency": "EUR"}, **EN).content.decode()

    (eur,) = _charts(html)
    assert _bars(eur) == ["2026-11-02: 100.25 EUR"]


def test_more_currencies_cost_no_more_queries(
    admin_client, gateway, sek_and_eur, django_assert_max_num_queries
):
    url = reverse(CHANGELIST)
    admin_client.get(url, **EN)  # warm up: sessions, content types, translations
    with CaptureQueriesContext(connection) as two_currencies:
        admin_client.get(url, **EN)
    for n, currency in enumerate(("NOK", "DKK", "USD", "GBP") * 5):
        day = MONDAY + datetime.timedelta(weeks=n)
        _payout(gateway, f"X{n}", day, currency, "10.00")

    with django_assert_max_num_queries(len(two_currencies)):
        html = admin_client.get(url, **EN).content.decode()

    assert len(_charts(html)) == 6


def test_weekly_totals_is_one_query(gateway, sek_and_eur, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = charts.weekly_totals(Payout.objects.all())

    assert [(t.currency, t.payouts, t.points) for t in found] == [
        ("SEK", 3, [(MONDAY, D("1250.50")), (MONDAY + datetime.timedelta(weeks=1), D("-80.00"))]),
        ("EUR", 2, [(MONDAY, D("100.25"))]),
    ]


def test_the_status_page_draws_a_payout_chart_per_currency(client):
    world = builders.world("Valuta AB", tag="VALUTA")
    today = timezone.localdate()
    for reference, net in (("V-S1", "2450.00"), ("V-S2", "1200.00")):
        builders.payout(world, reference, day=today, net=net, status=Payout.Status.BOOKED)
    euros = builders.payout(world, "V-E1", day=today, net="310.40", status=Payout.Status.BOOKED)
    Payout.objects.filter(pk=euros.pk).update(currency="EUR")

    html = client.get(world.status_url + "?lang=en").content.decode()

    payouts = [s for s in _status_charts(html) if _title(s).startswith("Paid out")]
    assert [_title(s) for s in payouts] == [
        "Paid out per month (SEK)",
        "Paid out per month (EUR)",
    ]
    month = f"{today:%B %Y}"
    sek, eur = (s.find(f"{SVG}desc").text.split("; ")[-1] for s in payouts)
    assert (sek, eur) == (f"{month}: 3,650.00 SEK", f"{month}: 310.40 EUR")
    text = builders.page_text(client.get(world.status_url + "?lang=en"))
    assert "Net (SEK)" in text and "Net (EUR)" in text


def _title(svg: ElementTree.Element) -> str:
    return svg.find(f"{SVG}title").text or ""
