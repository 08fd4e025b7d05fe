"""Credentials are never shown and never logged: a real sync against the sandbox — a token
refresh, a request that fails and is kept with its request and response for support — with
every log record of every logger captured at DEBUG, then the admin pages support reads (the
connections, the job, its items) and the merchant's status page searched for every secret:
client secrets, access and refresh tokens, API keys and webhook secrets. None may appear."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from integrator import services
from integrator.models import StatusPage, SyncJob
from shops.models import Connection
from tests import factories

pytestmark = pytest.mark.django_db

# Extra credentials a shop connection can hold besides the OAuth ones the sandbox checks.
SHOP_EXTRAS = {"webhook_secret": "wh-secret-Qq81Lx0Pz", "api_key": "api-key-Ve55Rt9Kk"}
# A credential set the admin shows (by name only) for a gateway: a Stripe secret key.
GATEWAY_SECRETS = {"secret_key": "sk_live_51Hx9SecretStripeKey00"}


@pytest.fixture
def everything_logged(caplog):
    """Every record of every logger, at DEBUG (urllib3's connection logs, Django's, ours)."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).disabled = False
    return caplog


def _secrets(*connections: Connection) -> set[str]:
    found = set()
    for connection in connections:
        connection.refresh_from_db()
        for name, value in connection.credentials.items():
            if name in ("token_url", "scope", "expires_at", "application_id", "client_id"):
                continue  # addresses and ids, not secrets
            if isinstance(value, str) and len(value) >= 6:
                found.add(value)
    return found


def _run(integration, capture, kind: str = "orders") -> SyncJob:
    with capture(execute=True):
        job, _ = services.job_enqueue(
            integration=integration, kind=kind, trigger="manual", queue=False
        )
        services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def _admin_pages(admin_client, job: SyncJob, connections: list[Connection]) -> str:
    pages = [
        reverse("admin:shops_connection_changelist"),
        reverse("admin:integrator_syncjob_changelist"),
        reverse("admin:integrator_syncjob_change", args=[job.pk]),
        reverse("admin:integrator_syncitem_changelist"),
        reverse("admin:integrator_integration_changelist"),
        *(reverse("admin:shops_connection_change", args=[c.pk]) for c in connections),
        *(reverse("admin:integrator_syncitem_change", args=[i.pk]) for i in job.items.all()),
    ]
    html = []
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html.append(response.content.decode())
    return "\n".join(html)


def test_a_sync_with_a_failing_request_shows_and_logs_no_secret(
    sandbox, admin_client, client, everything_logged, django_capture_on_commit_callbacks
):
    owner = factories.customer(name="Norrsken Handel AB")
    shop = factories.connection(
        owner,
        "jetshop",
        sandbox.url("jetshop"),
        credentials={**sandbox.credentials("jetshop"), **SHOP_EXTRAS},
    )
    # An access token that has expired: the run starts by spending the refresh token.
    visma_credentials = {**sandbox.credentials("visma"), "access_token": "stale-at-77AbC9"}
    erp = factories.connection(owner, "visma", sandbox.url("visma"), credentials=visma_credentials)
    gateway = factories.connection(owner, "stripe", credentials=GATEWAY_SECRETS)
    integration = factories.integration(owner, erp, [shop])
    before = _secrets(shop, erp, gateway)
    # A Visma hiccup on the way (answered 500, retried), and the access token refreshed.
    sandbox.fail_next("POST", "/visma/v2/customers", "500")
    first = _run(integration, django_capture_on_commit_callbacks)
    assert first.transferred > 0
    refreshed = _secrets(shop, erp, gateway)
    assert refreshed - before  # the refresh gave new tokens
    # Then the merchant revokes the authorisation: the refresh fails and the job keeps the
    # token request and Visma's answer for support — a request that carries the secrets.
    erp.refresh_from_db()
    erp.credentials = {
        **erp.credentials,
        "access_token": "expired-at-31QwE",
        "expires_at": 0,
        "refresh_token": "revoked-rt-88ZxY",
    }
    erp.save()
    job = _run(integration, django_capture_on_commit_callbacks, kind="stock")
    assert job.status == SyncJob.Status.FAILED
    kept = json.dumps([job.error_detail, *(i.detail for i in job.items.all())])
    assert "connect/token" in kept and "invalid_grant" in kept  # support can read it...
    secrets = before | refreshed | _secrets(shop, erp, gateway)
    assert len(secrets) >= 10

    _page, token = StatusPage.issue(owner)
    status_html = client.get(f"/status/{token}/").content.decode()
    admin_html = _admin_pages(admin_client, job, [shop, erp, gateway])
    logs = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in everything_logged.records
    )
    assert "jetshop" in logs.lower() and "visma" in logs.lower()  # the run was logged

    for where, text in [
        ("the logs", logs),
        ("the admin", admin_html),
        ("the status page", status_html),
        ("what the job keeps", kept + job.error),
    ]:
        shown = sorted(secret for secret in secrets if secret in text)
        assert not shown, f"{where} show {shown}"
    for name in ("client_secret", "refresh_token", "webhook_secret", "api_key", "secret_key"):
        assert name in admin_html  # the admin names the credentials it keeps, no values
