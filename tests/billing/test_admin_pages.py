"""Every billing page in the admin renders: lists, searches, change pages and add pages."""

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.invoicing import run_month
from billing.models import (
    FeeInvoice,
    HourPurchase,
    Package,
    QuotaMonth,
    QuotaWarning,
    SubscriptionChange,
    TimeEntry,
    TransferredOrder,
)
from billing.quota import record_transferred_order
from billing.subscriptions import change_package
from tests import factories

pytestmark = pytest.mark.django_db

MODELS = [
    TimeEntry,
    HourPurchase,
    FeeInvoice,
    QuotaMonth,
    QuotaWarning,
    TransferredOrder,
    SubscriptionChange,
]


@pytest.fixture
def world(manager, today):
    today(datetime.date(2026, 4, 2))
    customer = factories.subscribed_customer("100", start=datetime.date(2026, 1, 1))
    factories.time_entry(customer, "1", staff=manager)
    factories.hour_purchase(customer, "10", "9000")
    for n in range(85):
        record_transferred_order(
            customer=customer,
            reference=f"WEB-{n}",
            transferred_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC),
        )
    change_package(customer=customer, package=Package.objects.get(code="200"), user=manager)
    run_month(datetime.date(2026, 3, 1))
    return customer


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_it_renders_every_billing_page(admin_client, world, model):
    def url(view: str, *args) -> str:
        return reverse(f"admin:billing_{model._meta.model_name}_{view}", args=args)

    assert admin_client.get(url("changelist")).status_code == 200
    assert admin_client.get(url("changelist"), {"q": "WEB-1"}).status_code == 200
    obj = model.objects.first()
    assert obj is not None
    assert admin_client.get(url("change", obj.pk)).status_code == 200
    request = admin_client.get(url("changelist")).wsgi_request
    if admin.site._registry[model].has_add_permission(request):
        assert admin_client.get(url("add")).status_code == 200


def test_it_shows_times_in_stockholm(admin_client, world):
    order = TransferredOrder.objects.get(reference="WEB-0")
    page = admin_client.get(reverse("admin:billing_transferredorder_changelist")).content.decode()
    assert order.transferred_at.hour == 0  # 00:00 UTC …
    assert "2026-03-02 01:00" in page  # … is 01:00 in Stockholm (winter time)
