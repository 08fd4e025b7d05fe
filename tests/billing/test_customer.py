import datetime

import pytest
from django.core.exceptions import ValidationError

from billing.models import Customer, Package, Subscription

pytestmark = pytest.mark.django_db


def test_it_rejects_an_organisation_number_with_a_wrong_check_digit():
    customer = Customer(name="Fel AB", organisation_number="556036-0794")
    with pytest.raises(ValidationError) as raised:
        customer.full_clean()
    assert "organisation_number" in raised.value.message_dict
    assert "556036-0794" in raised.value.message_dict["organisation_number"][0]


def test_it_stores_a_valid_organisation_number_in_the_usual_format():
    customer = Customer(name="Rätt AB", organisation_number="5560360793")
    customer.full_clean()
    assert customer.organisation_number == "556036-0793"


def test_it_rejects_an_invalid_vat_number():
    customer = Customer(name="Moms AB", organisation_number="556036-0793", vat_number="SE123")
    with pytest.raises(ValidationError) as raised:
        customer.full_clean()
    assert "vat_number" in raised.value.message_dict


def _subscription(start: datetime.date) -> Subscription:
    return Subscription(package=Package.objects.get(code="100"), start_date=start)


@pytest.mark.parametrize(
    "start, notice_on, last_day",
    [
        # Notice early in the minimum term: the three months still run.
        (datetime.date(2026, 1, 1), datetime.date(2026, 1, 15), datetime.date(2026, 3, 31)),
        # Notice after the minimum term: one month's notice from that day.
        (datetime.date(2026, 1, 1), datetime.date(2026, 5, 10), datetime.date(2026, 6, 9)),
        # A start on 30 November: February has no 30th, so the term is clamped to its end.
        (datetime.date(2025, 11, 30), datetime.date(2025, 12, 1), datetime.date(2026, 2, 27)),
    ],
)
def test_it_tells_the_earliest_possible_end_date(start, notice_on, last_day):
    assert _subscription(start).earliest_end_date(notice_on) == last_day


def test_it_refuses_extra_shops_on_a_package_without_multishop():
    subscription = Subscription(
        customer=Customer.objects.create(name="Liten AB", organisation_number="556036-0793"),
        package=Package.objects.get(code="200"),
        start_date=datetime.date(2026, 1, 1),
        extra_shops=1,
    )
    with pytest.raises(ValidationError) as raised:
        subscription.full_clean()
    assert "extra_shops" in raised.value.message_dict
