"""The account manager's one page per customer answers: which package since when, orders this
month against the quota, service hours left, and the next invoice. The lists stay fast."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.invoicing import run_month
from billing.models import Customer, Package, QuotaMonth
from billing.quota import record_transferred_order
from billing.subscriptions import change_package
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(manager, today):
    customer = factories.subscribed_customer(
        "200", start=datetime.date(2026, 1, 1), start_package_hours=Decimal("4")
    )
    today(datetime.date(2026, 3, 16))
    change_package(customer=customer, package=Package.objects.get(code="400"), user=manager)
    for n in range(120):
        record_transferred_order(
            customer=customer,
            reference=f"WEB-1-{n}",
            transferred_at=datetime.datetime(2026, 3, 2, 10, tzinfo=datetime.UTC),
        )
    factories.time_entry(customer, "1.5", staff=manager, category="training")
    return customer


def _page(client, customer) -> str:
    response = client.get(
        reverse("admin:billing_customer_change", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    return response.content.decode()


def test_it_answers_the_account_managers_questions_on_one_page(client, manager, customer):
    client.force_login(manager)
    page = _page(client, customer)

    assert '<div class="big">Paket 400</div>' in page
    assert "since 2026-03-16" in page and "customer since 2026-01-01" in page
    assert "Orders in March 2026" in page and "120 of 400" in page and "30 %" in page
    assert 'style="width: 30%' in page
    assert '<div class="big">2.50 h</div>' in page  # 4 start hours − 1.5
    assert "Next invoice: March 2026" in page
    assert "Monthly fee, Paket 200, 1 Mar 2026–15 Mar 2026" in page
    assert "Pro rata: 795.00 × 16/31 days" in page
    assert "649.84" in page and "162.46" in page and "812.30" in page  # excl. VAT, VAT, total
    # The inlines: subscriptions, the audit of the change, the time entry.
    assert "Upgrade (from the day of the change)" in page and "anna" in page
    assert 'name="time_entries-0-description"' in page


def test_it_warns_in_red_when_the_quota_is_passed(client, manager, customer):
    for n in range(120, 410):
        record_transferred_order(
            customer=customer,
            reference=f"WEB-1-{n}",
            transferred_at=datetime.datetime(2026, 3, 3, 10, tzinfo=datetime.UTC),
        )
    client.force_login(manager)
    page = _page(client, customer)
    assert '<div class="big negative">410 of 400</div>' in page
    assert "10 orders over the quota" in page
    assert "Orders over the quota, March 2026" in page  # on the next invoice


def test_it_hides_the_invoice_from_support_and_offers_no_package_change(client, support, customer):
    client.force_login(support)
    page = _page(client, customer)
    assert "120 of 400" in page
    assert "Next invoice" not in page
    assert "change-package" not in page


def test_it_lists_customers_in_a_bounded_number_of_queries(
    admin_client, manager, today, django_assert_max_num_queries
):
    today(datetime.date(2026, 3, 16))
    for n in range(12):
        owner = factories.subscribed_customer("200")
        Customer.objects.filter(pk=owner.pk).update(
            organisation_number=factories.organisation_number(n), account_manager=manager
        )
        factories.time_entry(owner, "0.5", staff=manager)
        QuotaMonth.objects.create(customer=owner, month=datetime.date(2026, 3, 1), used=n)
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:billing_customer_changelist"))
    page = response.content.decode()
    assert page.count('class="action-select"') == 12
    assert "1.50 h" in page  # 2 start hours − 0.5


@pytest.mark.parametrize(
    "model_name",
    [
        "timeentry",
        "hourpurchase",
        "feeinvoice",
        "quotamonth",
        "transferredorder",
        "subscriptionchange",
    ],
)
def test_it_lists_billing_records_in_a_bounded_number_of_queries(
    admin_client, manager, today, django_assert_max_num_queries, model_name
):
    today(datetime.date(2026, 4, 2))
    for n in range(8):
        owner = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1))
        Customer.objects.filter(pk=owner.pk).update(
            organisation_number=factories.organisation_number(n)
        )
        factories.time_entry(owner, "0.5", staff=manager)
        factories.hour_purchase(owner, "10", "9000")
        record_transferred_order(
            customer=owner,
            reference=f"R{n}",
            transferred_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC),
        )
        change_package(customer=owner, package=Package.objects.get(code="800"), user=manager)
    run_month(datetime.date(2026, 3, 1))
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse(f"admin:billing_{model_name}_changelist"))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 8
