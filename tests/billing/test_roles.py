"""The roles from the data migration: Support runs connections, integrations, jobs and payouts
and reads billing; account managers run customers, subscriptions, hours and fee invoices and
read jobs; only superusers change packages. Nobody sees credentials."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import Customer, FeeInvoice, Package
from billing.roles import ACCOUNT_MANAGER, ROLES, SUPPORT
from integrator.models import SyncJob
from tests import factories

pytestmark = pytest.mark.django_db

SECRETS = {"client_id": "shop-client-7Qx", "client_secret": "shop-secret-Zk93hQ"}


def _granted(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def _expected(name: str) -> set[str]:
    return {
        f"{key.split('.')[0]}.{action}_{key.split('.')[1]}"
        for key, actions in ROLES[name].items()
        for action in actions
    }


@pytest.mark.parametrize("role", [SUPPORT, ACCOUNT_MANAGER])
def test_it_creates_each_group_with_exactly_its_permissions(role):
    assert _granted(role) == _expected(role)


def test_it_gives_support_no_billing_edits_and_account_managers_no_engine_edits():
    support, manager = _granted(SUPPORT), _granted(ACCOUNT_MANAGER)
    assert {p for p in support if p.startswith("billing.")} == {
        "billing.view_customer",
        "billing.view_subscription",
        "billing.view_package",
    }
    assert not {p for p in manager if p.split(".")[0] in ("integrator", "shops", "ledger")} - {
        "integrator.view_integration",
        "integrator.view_syncjob",
        "integrator.view_syncitem",
    }
    assert not any(
        p.startswith(("billing.change_package", "billing.add_package")) for p in support | manager
    )


@pytest.fixture
def world():
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1))
    shop = factories.connection(customer, "jetshop", "https://shop.example", credentials=SECRETS)
    erp = factories.connection(customer, "visma", "https://visma.example")
    integration = factories.integration(customer, erp, [shop])
    failed = SyncJob.objects.create(
        integration=integration, kind="orders", status="failed", trigger="schedule", error="boom"
    )
    invoice = FeeInvoice.objects.create(
        customer=customer,
        month=datetime.date(2026, 3, 1),
        number="F202603-1",
        subtotal=795,
        vat="198.75",
        total="993.75",
    )
    return {"customer": customer, "shop": shop, "job": failed, "invoice": invoice}


def _url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def test_support_reads_customers_but_cannot_change_them(client, support, world):
    customer = world["customer"]
    client.force_login(support)

    assert client.get(_url("billing_customer_change", customer.pk)).status_code == 200
    response = client.post(_url("billing_customer_change", customer.pk), {"name": "Nytt namn"})
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).name == customer.name
    for page in ("billing_timeentry_changelist", "billing_feeinvoice_changelist"):
        assert client.get(_url(page)).status_code == 403
    assert client.get(_url("billing_customer_import")).status_code == 403


def test_support_works_on_connections_and_jobs_and_never_sees_credentials(client, support, world):
    client.force_login(support)
    shop, job = world["shop"], world["job"]

    for page in (
        _url("shops_connection_change", shop.pk),
        _url("shops_connection_changelist"),
        _url("integrator_integration_changelist"),
        _url("ledger_payout_changelist"),
    ):
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert not any(secret in html for secret in [*SECRETS.values(), shop.credentials_encrypted])

    response = client.post(_url("integrator_syncjob_retry", job.pk))
    assert response.status_code == 302
    assert SyncJob.objects.filter(retry_of=job).exists()


def test_account_managers_edit_customers_and_read_jobs(client, manager, world):
    client.force_login(manager)
    customer, job = world["customer"], world["job"]

    assert client.get(_url("integrator_syncjob_change", job.pk)).status_code == 200
    assert client.post(_url("integrator_syncjob_retry", job.pk)).status_code == 403
    assert not SyncJob.objects.filter(retry_of=job).exists()
    assert client.get(_url("shops_connection_changelist")).status_code == 403
    assert client.get(_url("ledger_payout_changelist")).status_code == 403

    assert client.get(_url("billing_timeentry_add")).status_code == 200
    assert client.get(_url("billing_customer_import")).status_code == 200
    invoice = world["invoice"]
    response = client.post(
        _url("billing_feeinvoice_change", invoice.pk),
        {
            "sent_on": "2026-04-02",
            "note": "Mailad",
            "lines-TOTAL_FORMS": 0,
            "lines-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.sent_on == datetime.date(2026, 4, 2) and invoice.total == 993.75
    assert client.get(_url("billing_customer_change", customer.pk)).status_code == 200


@pytest.mark.parametrize("user_fixture", ["support", "manager"])
def test_only_superusers_change_packages(client, admin_client, request, user_fixture):
    package = Package.objects.get(code="100")
    data = {
        "code": "100",
        "name": "Paket 100 (ny)",
        "monthly_fee": "299",
        "installation_fee": "2200",
        "order_quota": 100,
        "rank": 1,
    }
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(_url("billing_package_change", package.pk)).status_code == 200
    assert client.post(_url("billing_package_change", package.pk), data).status_code == 403

    assert admin_client.post(_url("billing_package_change", package.pk), data).status_code == 302
    assert Package.objects.get(pk=package.pk).name == "Paket 100 (ny)"


def test_the_admin_index_shows_each_role_its_own_models(client, support, manager):
    client.force_login(manager)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Time entries" in index and "Fee invoices" in index and "Connections" not in index

    client.force_login(support)
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Connections" in index and "Payouts" in index and "Time entries" not in index
