"""The service account: start-package hours and hour packages in, time entries out; the balance
is derived from the entries; below zero only with a reason, and then it shows in red."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import Package, TimeEntry
from billing.service_account import balance, latest_entries
from billing.subscriptions import change_package
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return factories.subscribed_customer(
        "200", start=datetime.date(2026, 1, 1), start_package_hours=Decimal("3")
    )


def test_it_derives_the_balance_from_mixed_entries(customer, manager, support):
    factories.hour_purchase(customer, "10", "9000")
    factories.time_entry(customer, "1.5", staff=manager, category="installation")
    factories.time_entry(customer, "0.25", staff=support, category="qualified_support")
    factories.time_entry(customer, "4.75", staff=manager, category="plugin_development")

    # 3 start hours + 10 bought − 6.5 worked
    assert balance(customer) == Decimal("6.50")

    TimeEntry.objects.filter(category="plugin_development").delete()
    assert balance(customer) == Decimal("11.25")


def test_it_keeps_unused_start_hours_through_a_package_change(customer, manager, today):
    factories.time_entry(customer, "1", staff=manager, category="training")
    today(datetime.date(2026, 3, 10))
    change_package(customer=customer, package=Package.objects.get(code="400"), user=manager)

    assert balance(customer) == Decimal("2.00")  # the upgrade brings no new start package


def test_it_takes_hours_in_quarter_hours_only(customer, manager):
    entry = TimeEntry(
        customer=customer,
        date=datetime.date(2026, 3, 1),
        hours=Decimal("0.3"),
        category="training",
        description="Utbildning",
        staff=manager,
    )
    with pytest.raises(ValidationError) as raised:
        entry.full_clean()
    assert "hours" in raised.value.message_dict


def test_it_needs_a_reason_to_go_below_zero(customer, manager):
    entry = TimeEntry(
        customer=customer,
        date=datetime.date(2026, 3, 1),
        hours=Decimal("3.25"),
        category="plugin_development",
        description="Plugin för fraktklasser",
        staff=manager,
    )
    with pytest.raises(ValidationError) as raised:
        entry.full_clean()
    assert "below_zero_reason" in raised.value.message_dict

    entry.below_zero_reason = "Agreed with the customer; they buy 10 h next week."
    entry.full_clean()
    entry.save()
    assert balance(customer) == Decimal("-0.25")


def test_it_lists_the_latest_entries_newest_first(customer, manager):
    factories.hour_purchase(customer, "10", "9000", date=datetime.date(2026, 2, 1))
    factories.time_entry(
        customer, "1", staff=manager, date=datetime.date(2026, 3, 2), description="Ny prislista"
    )

    entries = latest_entries(customer, limit=5)

    assert [(e.date, e.hours, e.text) for e in entries] == [
        (datetime.date(2026, 3, 2), Decimal("-1"), "Ny prislista"),
        (datetime.date(2026, 2, 1), Decimal("10"), "Hour package"),
        (datetime.date(2026, 1, 1), Decimal("3"), "Start package"),
    ]
    assert entries[0].by == "Anna"
    assert len(latest_entries(customer, limit=2)) == 2


def _inline_post(customer, rows: list[dict]) -> dict:
    """The customer change form with its inlines: the existing subscription untouched and
    `rows` as new time entries."""
    subscription = customer.subscriptions.get()
    data = {
        "name": customer.name,
        "organisation_number": customer.organisation_number,
        "vat_number": "",
        "account_manager": "",
        "contact_name": "",
        "contact_email": customer.contact_email,
        "contact_phone": "",
        "subscriptions-TOTAL_FORMS": 1,
        "subscriptions-INITIAL_FORMS": 1,
        "subscriptions-0-id": subscription.pk,
        "subscriptions-0-customer": customer.pk,
        "subscriptions-0-start_date": subscription.start_date.isoformat(),
        "subscriptions-0-extra_shops": 0,
        "subscriptions-0-start_package_hours": str(subscription.start_package_hours),
        "package_changes-TOTAL_FORMS": 0,
        "package_changes-INITIAL_FORMS": 0,
        "time_entries-TOTAL_FORMS": len(rows),
        "time_entries-INITIAL_FORMS": 0,
        "hour_purchases-TOTAL_FORMS": 0,
        "hour_purchases-INITIAL_FORMS": 0,
    }
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"time_entries-{n}-{key}"] = value
        data[f"time_entries-{n}-customer"] = customer.pk
    return data


def test_it_checks_several_new_entries_together_on_the_customer_page(client, customer, manager):
    client.force_login(manager)
    url = reverse("admin:billing_customer_change", args=[customer.pk])
    two_hours = {
        "date": "2026-03-10",
        "hours": "2",
        "category": "configuration",
        "description": "Flödesinställningar",
    }

    refused = client.post(url, _inline_post(customer, [two_hours, two_hours]))
    assert refused.status_code == 200
    assert "below zero" in refused.content.decode()
    assert not TimeEntry.objects.exists()

    reason = {"below_zero_reason": "Start-up week, approved by Anna"}
    accepted = client.post(url, _inline_post(customer, [two_hours, {**two_hours, **reason}]))
    assert accepted.status_code == 302
    assert list(TimeEntry.objects.values_list("staff__username", flat=True)) == ["anna", "anna"]

    page = client.get(url).content.decode()
    assert balance(customer) == Decimal("-1.00")
    assert '<div class="big negative">-1.00 h</div>' in page
