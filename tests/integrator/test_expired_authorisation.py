"""When Visma's authorisation has expired, the job fails saying so, the connection shows that
the merchant must act, and the merchant is told once — not at every scheduled run."""

import pytest

from integrator import services
from integrator.models import SyncJob
from shops.models import Connection
from tests import factories

pytestmark = pytest.mark.django_db


def test_an_expired_authorisation_fails_the_job_and_tells_the_merchant_once(
    sandbox, mailoutbox, django_capture_on_commit_callbacks
):
    owner = factories.customer(contact_email="karin@norrsken.example")
    shop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop")
    )
    revoked = {
        **sandbox.credentials("visma"),
        "access_token": "expired",
        "expires_at": 0,
        "refresh_token": "revoked-by-the-merchant",
    }
    erp = factories.connection(owner, "visma", sandbox.url("visma"), credentials=revoked)
    integration = factories.integration(owner, erp, [shop])

    for _run in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            job, _ = services.job_enqueue(
                integration=integration, kind="orders", trigger="schedule", queue=False
            )
            services.job_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == SyncJob.Status.FAILED

    erp.refresh_from_db()
    assert erp.health == Connection.Health.WARNING
    assert "invalid_grant" in erp.health_message or "authoris" in erp.health_message.lower()
    shop.refresh_from_db()
    assert shop.health != Connection.Health.WARNING  # the shop was not to blame
    to_merchant = [m for m in mailoutbox if "karin@norrsken.example" in m.to]
    assert len(to_merchant) == 1
