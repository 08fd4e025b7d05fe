"""Orders transferred count against the package quota: once per order, in the Stockholm month,
with one warning at 80 % and one at 100 % to the customer contact and the account manager."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Package, QuotaMonth, QuotaWarning, Subscription, TransferredOrder
from billing.quota import month_usage, record_transferred_order
from tests import factories

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def _at(day: int, hour: int = 10, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def small_customer(manager):
    """Package 100: a quota of 100 orders a month."""
    return _customer_on("100", manager)


def _customer_on(code: str, manager) -> object:
    customer = factories.subscribed_customer(code)
    customer.contact_email = "lena@kaffebonan.se"
    customer.account_manager = manager
    customer.save()
    return customer


def _transfer(customer, count: int, start: int = 0, day: int = 10) -> None:
    for n in range(start, start + count):
        record_transferred_order(customer=customer, reference=f"WEB-1-{n}", transferred_at=_at(day))


def test_it_counts_a_retried_order_once(small_customer, today):
    today(datetime.date(2026, 3, 20))
    for _attempt in range(3):
        record_transferred_order(
            customer=small_customer, reference="WEB-1-100234", transferred_at=_at(10)
        )

    usage = month_usage(small_customer, datetime.date(2026, 3, 1))
    assert usage.used == 1
    assert TransferredOrder.objects.filter(customer=small_customer).count() == 1


def test_it_warns_at_80_and_100_percent_once_each(
    small_customer, manager, today, mailoutbox, django_capture_on_commit_callbacks
):
    today(datetime.date(2026, 3, 20))
    with django_capture_on_commit_callbacks(execute=True):
        _transfer(small_customer, 79)
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        _transfer(small_customer, 1, start=79)
    assert len(mailoutbox) == 1
    nearly = mailoutbox[0]
    assert set(nearly.to) == {"lena@kaffebonan.se", "anna@example.se"}
    assert "80 %" in nearly.subject and "March 2026" in nearly.subject
    assert "80 orders" in nearly.body and "100 orders a month" in nearly.body

    with django_capture_on_commit_callbacks(execute=True):
        _transfer(small_customer, 19, start=80)
    assert len(mailoutbox) == 1  # not on every order after 80 %

    with django_capture_on_commit_callbacks(execute=True):
        _transfer(small_customer, 15, start=99)
    assert len(mailoutbox) == 2
    reached = mailoutbox[1]
    assert "used up" in reached.subject
    assert "2.95 SEK each" in reached.body  # package 100: 295 SEK / 100 orders

    assert list(
        QuotaWarning.objects.filter(customer=small_customer).values_list("level", "used")
    ) == [(100, 100), (80, 80)]


def test_it_warns_again_in_the_next_month(
    small_customer, today, mailoutbox, django_capture_on_commit_callbacks
):
    today(datetime.date(2026, 4, 20))
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(80):
            record_transferred_order(
                customer=small_customer, reference=f"M3-{n}", transferred_at=_at(10, month=3)
            )
        for n in range(80):
            record_transferred_order(
                customer=small_customer, reference=f"M4-{n}", transferred_at=_at(10, month=4)
            )
    assert [("March" in m.subject, "April" in m.subject) for m in mailoutbox] == [
        (True, False),
        (False, True),
    ]


def test_it_sends_one_mail_when_a_tiny_quota_passes_both_levels_at_once(
    manager, today, mailoutbox, django_capture_on_commit_callbacks
):
    today(datetime.date(2026, 3, 20))
    customer = factories.subscribed_customer(
        "premium",
        quoted_monthly_fee="3000",
        quoted_installation_fee="10000",
        quoted_order_quota=1,
    )
    with django_capture_on_commit_callbacks(execute=True):
        _transfer(customer, 1)
    assert len(mailoutbox) == 1 and "used up" in mailoutbox[0].subject
    assert QuotaWarning.objects.filter(customer=customer).count() == 2


def test_it_records_the_orders_over_the_quota(small_customer, today):
    today(datetime.date(2026, 3, 31))
    _transfer(small_customer, 103)

    usage = month_usage(small_customer, datetime.date(2026, 3, 15))
    assert (usage.used, usage.quota, usage.percent, usage.overage) == (103, 100, 103, 3)
    assert TransferredOrder.objects.filter(customer=small_customer, over_quota=True).count() == 3
    assert QuotaMonth.objects.get(customer=small_customer).used == 103


def test_it_counts_an_order_in_the_stockholm_month(small_customer, today):
    today(datetime.date(2026, 4, 2))
    # 23:30 UTC on 31 March is 01:30 on 1 April in Stockholm (summer time).
    record_transferred_order(
        customer=small_customer,
        reference="WEB-1-1",
        transferred_at=datetime.datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
    )
    assert month_usage(small_customer, datetime.date(2026, 3, 1)).used == 0
    april = month_usage(small_customer, datetime.date(2026, 4, 1))
    assert april.used == 1
    assert april.per_day == [
        (datetime.date(2026, 4, 1), 1),
        (datetime.date(2026, 4, 2), 0),
    ]


def test_it_gives_a_count_for_every_day_of_the_month_up_to_today(small_customer, today):
    today(datetime.date(2026, 3, 5))
    _transfer(small_customer, 2, day=2)
    _transfer(small_customer, 3, start=2, day=4)

    usage = month_usage(small_customer, datetime.date(2026, 3, 1))
    assert usage.per_day == [
        (datetime.date(2026, 3, 1), 0),
        (datetime.date(2026, 3, 2), 2),
        (datetime.date(2026, 3, 3), 0),
        (datetime.date(2026, 3, 4), 3),
        (datetime.date(2026, 3, 5), 0),
    ]
    assert len(month_usage(small_customer, datetime.date(2026, 2, 1)).per_day) == 28
    assert month_usage(small_customer, datetime.date(2026, 4, 1)).per_day == []


def test_it_measures_the_month_against_an_upgrade_made_in_it(small_customer, manager, today):
    from billing.subscriptions import change_package

    today(datetime.date(2026, 3, 20))
    _transfer(small_customer, 120)
    change_package(customer=small_customer, package=Package.objects.get(code="200"), user=manager)

    usage = month_usage(small_customer, datetime.date(2026, 3, 1))
    assert (usage.quota, usage.overage) == (200, 0)


def test_it_counts_with_a_constant_number_of_queries(small_customer, today):
    today(datetime.date(2026, 3, 20))
    per_call = []
    for n in range(150):
        with CaptureQueriesContext(connection) as queries:
            _transfer(small_customer, 1, start=n)
        per_call.append(len(queries))
    # The same handful for the 1st order and the 150th; a warning adds its insert.
    assert max(per_call) <= 16
    assert per_call[10] == per_call[60] and per_call[85] == per_call[140]


def test_it_has_no_quota_without_a_subscription(today):
    today(datetime.date(2026, 3, 20))
    customer = factories.customer(package_code="")
    _transfer(customer, 2)
    usage = month_usage(customer, datetime.date(2026, 3, 1))
    assert (usage.used, usage.quota, usage.percent, usage.overage) == (2, None, None, 0)
    assert not Subscription.objects.filter(customer=customer).exists()
