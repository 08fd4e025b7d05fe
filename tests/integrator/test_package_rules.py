"""A feature the package lacks is not run, and support staff are told why."""

import pytest
from django.urls import reverse

from integrator import services
from integrator.models import Integration, SyncJob
from tests import factories

pytestmark = pytest.mark.django_db


def _integration(package: str, flow=Integration.Flow.ERP_MASTER, shops: int = 1):
    owner = factories.customer(package_code=package)
    erp = factories.connection(owner, "visma")
    return factories.integration(
        owner,
        erp,
        [factories.connection(owner, "jetshop", name=f"Shop {n}") for n in range(shops)],
        flow=flow,
    )


def test_it_refuses_stock_on_package_100_and_names_the_package_that_has_it():
    integration = _integration("100")
    with pytest.raises(services.JobNotAllowed, match="Paket 200"):
        services.job_enqueue(integration=integration, kind="stock", trigger="manual")
    assert not SyncJob.objects.exists()


def test_it_allows_stock_on_package_200():
    job, created = services.job_enqueue(
        integration=_integration("200"), kind="stock", trigger="manual", queue=False
    )
    assert created and job.status == SyncJob.Status.QUEUED


def test_it_refuses_price_lists_below_package_400():
    with pytest.raises(services.JobNotAllowed, match="Paket 400"):
        services.job_enqueue(integration=_integration("200"), kind="price_lists", trigger="manual")


def test_it_refuses_two_shops_without_multishop():
    with pytest.raises(services.JobNotAllowed, match="Paket 400"):
        services.job_enqueue(
            integration=_integration("200", shops=2), kind="orders", trigger="manual"
        )


def test_it_refuses_what_the_flow_does_not_move():
    integration = _integration("800", flow=Integration.Flow.SHOP_MASTER)
    with pytest.raises(services.JobNotAllowed):
        services.job_enqueue(integration=integration, kind="stock", trigger="manual")


def test_a_package_downgraded_after_queueing_stops_the_job_with_the_reason():
    integration = _integration("200")
    job, _ = services.job_enqueue(
        integration=integration, kind="stock", trigger="manual", queue=False
    )
    subscription = integration.customer.current_subscription()
    subscription.package = subscription.package.__class__.objects.get(code="100")
    subscription.save()
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == SyncJob.Status.FAILED and "Paket 200" in job.error


def test_the_admin_action_says_why_a_job_was_not_started(admin_client):
    integration = _integration("200", shops=2)
    response = admin_client.post(
        reverse("admin:integrator_integration_changelist"),
        {"action": "transfer_orders_now", "_selected_action": [integration.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Paket 400" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_the_integration_page_says_which_kinds_the_package_does_not_run(admin_client):
    integration = _integration("200")
    html = admin_client.get(
        reverse("admin:integrator_integration_change", args=[integration.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "Price lists" in html and "(it comes with Paket 400)" in html
