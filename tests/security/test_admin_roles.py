"""Each staff role can do what DESIGN.md section 1 gives it and nothing more, tried the way an
attacker would: by typing the admin URLs the role's menu does not show and posting to them.
(tests/billing/test_roles.py checks the groups' permission lists and the everyday pages.)

- Support: connections, integrations, jobs, payouts; reads customers, never edits billing.
- Account managers: customers, subscriptions, hours, fee invoices; jobs read-only; no
  connections at all.
- Neither sees or edits staff users or groups; a staff account without a role sees nothing.
  Superusers can do all of it."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from billing.models import Customer, Package, Subscription
from integrator.models import Integration, SyncJob
from shops.models import Connection
from tests import factories

pytestmark = pytest.mark.django_db

CREDENTIALS = {"client_id": "jet-7", "client_secret": "role-test-secret-Hh21"}


@pytest.fixture
def world():
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1))
    shop = factories.connection(
        customer, "jetshop", "https://shop.example", credentials=CREDENTIALS
    )
    erp = factories.connection(customer, "visma", "https://visma.example")
    integration = factories.integration(customer, erp, [shop])
    job = SyncJob.objects.create(
        integration=integration, kind="orders", status="failed", trigger="schedule", error="x"
    )
    return {
        "customer": customer,
        "shop": shop,
        "integration": integration,
        "job": job,
        "subscription": Subscription.objects.get(customer=customer),
        "package": Package.objects.get(code="100"),
        "staff": User.objects.create_user("kollega", is_staff=True),
        "group": Group.objects.get(name="Support"),
    }


@pytest.fixture
def users(db):
    return {
        "support": factories.staff_user("sven", role="Support"),
        "manager": factories.staff_user("anna", role="Account manager"),
        "no role": factories.staff_user("nils"),
    }


def _url(name: str, world: dict, key: str = "") -> str:
    return reverse(f"admin:{name}", args=[world[key].pk] if key else [])


# (admin URL name, object in `world` or "", roles that may open it)
PAGES = [
    ("auth_user_changelist", "", set()),
    ("auth_user_change", "staff", set()),
    ("auth_user_add", "", set()),
    ("auth_group_changelist", "", set()),
    ("auth_group_change", "group", set()),
    ("shops_connection_changelist", "", {"support"}),
    ("shops_connection_change", "shop", {"support"}),
    ("shops_connection_add", "", {"support"}),
    ("integrator_integration_change", "integration", {"support", "manager"}),
    ("integrator_syncjob_change", "job", {"support", "manager"}),
    ("billing_customer_change", "customer", {"support", "manager"}),
    ("billing_subscription_change", "subscription", {"support", "manager"}),
    ("billing_timeentry_add", "", {"manager"}),
    ("billing_feeinvoice_changelist", "", {"manager"}),
    ("billing_package_change", "package", {"support", "manager"}),  # read-only for both
    ("ledger_payout_changelist", "", {"support"}),
]


@pytest.mark.parametrize(("name", "key", "allowed"), PAGES)
def test_each_role_opens_only_its_own_pages(client, admin_client, world, users, name, key, allowed):
    url = _url(name, world, key)
    for role, user in users.items():
        client.force_login(user)
        expected = 200 if role in allowed else 403
        assert client.get(url).status_code == expected, f"{role} GET {name}"
    assert admin_client.get(url).status_code == 200


# Writes a role may never make, with what the POST would have changed.
WRITES = [
    (
        "support",
        "billing_subscription_change",
        "subscription",
        {"package": "", "quoted_monthly_fee": "1"},
    ),
    ("support", "billing_package_change", "package", {"monthly_fee": "1"}),
    ("support", "billing_package_add", "", {"code": "999", "monthly_fee": "1"}),
    ("support", "billing_customer_change", "customer", {"name": "Kapad AB"}),
    ("support", "shops_connection_delete", "shop", {"post": "yes"}),
    ("manager", "shops_connection_change", "shop", {"name": "Kapad", "credentials_json": "{}"}),
    ("manager", "integrator_integration_change", "integration", {"name": "Kapad"}),
    ("manager", "integrator_syncjob_retry", "job", {}),
    ("manager", "billing_package_change", "package", {"monthly_fee": "1"}),
    ("support", "auth_user_change", "staff", {"username": "kollega", "is_superuser": "on"}),
    ("manager", "auth_user_change", "staff", {"username": "kollega", "is_superuser": "on"}),
    ("manager", "auth_user_add", "", {"username": "ny", "password1": "x", "password2": "x"}),
    ("support", "auth_group_change", "group", {"name": "Support", "permissions": []}),
    ("no role", "billing_customer_change", "customer", {"name": "Kapad AB"}),
]


def _state() -> tuple:
    return (
        list(Subscription.objects.values_list("package_id", "start_date", "quoted_monthly_fee")),
        list(Package.objects.order_by("pk").values_list("code", "monthly_fee")),
        list(Connection.objects.order_by("pk").values_list("name", "credentials_encrypted")),
        list(Integration.objects.values_list("name", flat=True)),
        SyncJob.objects.count(),
        list(User.objects.order_by("pk").values_list("username", "is_superuser")),
        Group.objects.get(name="Support").permissions.count(),
        list(Customer.objects.values_list("name", flat=True)),
    )


@pytest.mark.parametrize(("role", "name", "key", "data"), WRITES)
def test_a_role_cannot_post_what_it_may_not_change(client, world, users, role, name, key, data):
    client.force_login(users[role])
    before = _state()

    response = client.post(_url(name, world, key), data)

    assert response.status_code == 403
    assert _state() == before


def test_the_credentials_are_hidden_from_the_superuser_too(admin_client, world):
    html = admin_client.get(_url("shops_connection_change", world, "shop")).content.decode()
    assert "client_secret" in html and CREDENTIALS["client_secret"] not in html
