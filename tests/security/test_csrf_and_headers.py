"""CSRF: a form post to the admin or to the merchant login without Django's token is refused
(with the token the same post goes through, so the token is what decided). Headers: every
status page answer — the page, its login, an unknown link — may not be framed, cached or run
script, and the admin may not be framed either."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from integrator.models import SyncJob
from tests.status.builders import merchant_login

pytestmark = pytest.mark.django_db
PASSWORD = "hemligt-lösen-123"


def _token(client: Client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_an_admin_post_without_the_csrf_token_is_refused(admin_user, kaffe):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    job = SyncJob.objects.filter(integration=kaffe.integration, status="failed").first()
    retry = reverse("admin:integrator_syncjob_retry", args=[job.pk])

    assert browser.post(retry).status_code == 403
    assert not SyncJob.objects.filter(retry_of=job).exists()

    token = _token(browser, reverse("admin:integrator_syncjob_change", args=[job.pk]))
    assert browser.post(retry, {"csrfmiddlewaretoken": token}).status_code == 302
    assert SyncJob.objects.filter(retry_of=job).exists()


def test_an_admin_login_without_the_csrf_token_is_refused(admin_user):
    browser = Client(enforce_csrf_checks=True)
    form = {"username": admin_user.username, "password": "password"}

    assert browser.post(reverse("admin:login"), form).status_code == 403
    assert "_auth_user_id" not in browser.session


def test_the_merchant_login_without_the_csrf_token_is_refused(kaffe):
    merchant_login(kaffe, "kaffe-ekonomi", PASSWORD)
    browser = Client(enforce_csrf_checks=True)
    login = reverse("status-login")
    form = {"username": "kaffe-ekonomi", "password": PASSWORD}

    assert browser.post(login, form).status_code == 403
    assert "_auth_user_id" not in browser.session

    form["csrfmiddlewaretoken"] = _token(browser, login)
    assert browser.post(login, form).status_code == 302
    assert "_auth_user_id" in browser.session


def _assert_locked_down(response) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'"
    assert "script-src" not in policy  # default-src 'none': no script at all


def test_every_status_page_answer_carries_the_strict_headers(client, kaffe, settings):
    settings.STATUS_RATE_LIMIT_PER_IP = 0
    merchant_login(kaffe, "kaffe-ekonomi", PASSWORD)
    answers = [
        client.get(kaffe.status_url),
        client.get("/status/" + "x" * 43 + "/"),
        client.get(reverse("status-login")),
    ]
    client.login(username="kaffe-ekonomi", password=PASSWORD)
    answers.append(client.get("/status/"))

    assert [a.status_code for a in answers] == [200, 404, 200, 200]
    for answer in answers:
        _assert_locked_down(answer)


def test_the_admin_may_not_be_framed(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response["X-Frame-Options"] == "DENY"
