"""Package changes keep the history: an upgrade takes effect at once, a downgrade from the 1st
of next month, both leave an audit row with who and when; the term counts from the contract."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import Package, Subscription, SubscriptionChange
from billing.subscriptions import change_package, give_notice
from tests import factories

pytestmark = pytest.mark.django_db


def _package(code: str) -> Package:
    return Package.objects.get(code=code)


def _periods(customer) -> list[tuple[str, datetime.date, datetime.date | None]]:
    return [
        (s.package.code, s.start_date, s.end_date)
        for s in customer.subscriptions.order_by("start_date")
    ]


def test_it_upgrades_from_the_day_of_the_change_and_records_who(manager, today):
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 16))

    change = change_package(customer=customer, package=_package("400"), user=manager)

    assert _periods(customer) == [
        ("200", datetime.date(2026, 1, 1), datetime.date(2026, 3, 15)),
        ("400", datetime.date(2026, 3, 16), None),
    ]
    assert customer.current_subscription().package.code == "400"
    assert (change.kind, change.from_package.code, change.to_package.code) == (
        "upgrade",
        "200",
        "400",
    )
    assert change.changed_by == manager and change.effective_from == datetime.date(2026, 3, 16)


def test_it_downgrades_from_the_first_of_next_month(manager, today):
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1), extra_shops=1)
    today(datetime.date(2026, 3, 16))

    change = change_package(customer=customer, package=_package("200"), user=manager)

    assert change.kind == "downgrade" and change.effective_from == datetime.date(2026, 4, 1)
    assert _periods(customer) == [
        ("400", datetime.date(2026, 1, 1), datetime.date(2026, 3, 31)),
        ("200", datetime.date(2026, 4, 1), None),
    ]
    assert customer.current_subscription().package.code == "400"
    # Package 200 has no multishop: the extra shop does not follow it.
    assert customer.current_subscription(datetime.date(2026, 4, 1)).extra_shops == 0


def test_it_lets_a_new_change_replace_a_scheduled_downgrade(manager, today):
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 10))
    change_package(customer=customer, package=_package("100"), user=manager)
    today(datetime.date(2026, 3, 20))

    change = change_package(customer=customer, package=_package("800"), user=manager)

    assert _periods(customer) == [
        ("400", datetime.date(2026, 1, 1), datetime.date(2026, 3, 19)),
        ("800", datetime.date(2026, 3, 20), None),
    ]
    assert "Paket 100" in change.note
    assert SubscriptionChange.objects.filter(customer=customer).count() == 2


def test_it_keeps_the_minimum_term_from_the_start_of_the_contract(manager, today):
    customer = factories.subscribed_customer("100", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 2, 10))
    change_package(customer=customer, package=_package("200"), user=manager)

    current = customer.current_subscription()
    assert current.minimum_term_end == datetime.date(2026, 3, 31)
    assert current.earliest_end_date(datetime.date(2026, 2, 10)) == datetime.date(2026, 3, 31)


def test_it_needs_the_quoted_fees_for_premium(manager, today):
    customer = factories.subscribed_customer("800", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 10))
    with pytest.raises(ValidationError) as raised:
        change_package(customer=customer, package=_package("premium"), user=manager)
    assert "quoted_monthly_fee" in raised.value.message_dict
    assert _periods(customer) == [("800", datetime.date(2026, 1, 1), None)]

    change_package(
        customer=customer,
        package=_package("premium"),
        user=manager,
        quoted_monthly_fee=Decimal("2500"),
        quoted_order_quota=3000,
    )
    assert customer.current_subscription().order_quota == 3000


def test_it_refuses_a_change_to_the_same_package(manager, today):
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 10))
    with pytest.raises(ValidationError):
        change_package(customer=customer, package=_package("200"), user=manager)


def test_it_sets_the_end_when_notice_is_given(today):
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    subscription = customer.current_subscription(datetime.date(2026, 1, 1))

    give_notice(subscription=subscription, on=datetime.date(2026, 1, 20))
    assert subscription.end_date == datetime.date(2026, 3, 31)  # the minimum term still runs

    subscription.end_date = None
    subscription.notice_given_on = datetime.date(2026, 5, 10)
    subscription.full_clean()  # the admin form: notice given, end left empty
    assert subscription.end_date == datetime.date(2026, 6, 9)


def test_it_refuses_a_second_subscription_in_the_same_period():
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    overlapping = Subscription(
        customer=customer, package=_package("400"), start_date=datetime.date(2026, 2, 1)
    )
    with pytest.raises(ValidationError) as raised:
        overlapping.full_clean()
    assert "start_date" in raised.value.message_dict


def test_it_changes_the_package_from_the_customer_page(client, manager, today):
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 16))
    client.force_login(manager)
    url = reverse("admin:billing_customer_change_package", args=[customer.pk])

    assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    response = client.post(
        url, {"package": _package("400").pk, "note": "Wants price lists"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse(
        "admin:billing_customer_change", args=[customer.pk]
    )
    change = SubscriptionChange.objects.get(customer=customer)
    assert (change.to_package.code, change.changed_by, change.note) == (
        "400",
        manager,
        "Wants price lists",
    )
    page = response.content.decode()
    assert "Upgrade (from the day of the change) to Paket 400" in page
    assert "Wants price lists" in page  # the audit inline


def test_it_shows_why_a_change_was_refused(client, manager, today):
    customer = factories.subscribed_customer("800", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 16))
    client.force_login(manager)
    response = client.post(
        reverse("admin:billing_customer_change_package", args=[customer.pk]),
        {"package": _package("premium").pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "A premium subscription needs its quoted fee." in response.content.decode()


def test_it_does_not_let_a_support_user_change_packages(client, support):
    customer = factories.subscribed_customer("200")
    client.force_login(support)
    url = reverse("admin:billing_customer_change_package", args=[customer.pk])
    assert client.post(url, {"package": _package("400").pk}).status_code == 403
    assert not SubscriptionChange.objects.exists()
