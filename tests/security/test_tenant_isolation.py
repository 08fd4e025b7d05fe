"""Tenant isolation as an attacker tries it: guessing and enumerating status tokens and ids
gives the same 404 as any unknown link, a merchant's login opens no admin page of any customer,
and names that carry HTML or script are shown as text on the status page and in the admin.
(tests/status/test_isolation.py covers the everyday cases.)"""

from __future__ import annotations

import string

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrator.models import SyncItem, SyncJob
from tests.status.builders import merchant_login

pytestmark = pytest.mark.django_db
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def no_rate_limit(settings):
    settings.STATUS_RATE_LIMIT_PER_IP = 0
    settings.STATUS_RATE_LIMIT_PER_TOKEN = 0


def test_guessed_tokens_all_get_the_same_404(client, kaffe, rival, no_rate_limit):
    unknown = client.get("/status/" + "A" * 43 + "/").content

    @SETTINGS
    @given(
        guess=st.one_of(
            st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=60),
            st.sampled_from([kaffe.token[:-1] + "A", kaffe.token.upper(), kaffe.token + "x"]),
            st.integers(0, 10**6).map(str),
        )
    )
    def check(guess: str) -> None:
        if guess in (kaffe.token, rival.token):
            return
        response = client.get(f"/status/{guess}/")
        assert response.status_code == 404
        assert response.content == unknown  # nothing tells a near miss from a wild guess

    check()


def test_a_merchant_login_opens_no_admin_page_of_any_customer(client, kaffe, rival):
    merchant_login(kaffe, "kaffe-ekonomi")
    assert client.login(username="kaffe-ekonomi", password="hemligt-lösen-123")
    pages = [
        reverse("admin:index"),
        reverse("admin:billing_customer_change", args=[kaffe.customer.pk]),
        reverse("admin:billing_customer_change", args=[rival.customer.pk]),
        reverse("admin:shops_connection_change", args=[kaffe.erp.pk]),
        reverse("admin:integrator_integration_changelist"),
        reverse("admin:ledger_payout_changelist"),
        reverse("admin:auth_user_changelist"),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith("/admin/login/")
    response = client.post(
        reverse("admin:billing_customer_change", args=[rival.customer.pk]), {"name": "Kapad"}
    )
    assert response.status_code == 302
    rival.customer.refresh_from_db()
    assert rival.customer.name == "Konkurrenten AB"


def _hostile_names(world) -> SyncJob:
    world.customer.name = f"Kaffe {SCRIPT} AB"
    world.customer.save()
    world.integration.name = f"Shop {SCRIPT}"
    world.integration.save()
    job = SyncJob.objects.filter(integration=world.integration).first()
    SyncItem.objects.create(
        job=job, object_type="order", key=SCRIPT[:100], outcome="failed", message=SCRIPT
    )
    return job


def test_html_in_names_is_shown_as_text_on_the_status_page(client, kaffe, no_rate_limit):
    _hostile_names(kaffe)

    html = client.get(kaffe.status_url).content.decode()

    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_html_in_names_is_shown_as_text_in_the_admin(admin_client, kaffe):
    job = _hostile_names(kaffe)
    pages = [
        reverse("admin:billing_customer_changelist"),
        reverse("admin:billing_customer_change", args=[kaffe.customer.pk]),
        reverse("admin:integrator_integration_changelist"),
        reverse("admin:integrator_syncjob_changelist"),
        reverse("admin:integrator_syncjob_change", args=[job.pk]),
        reverse("admin:integrator_syncitem_changelist"),
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, page
    assert "&lt;script&gt;" in html
