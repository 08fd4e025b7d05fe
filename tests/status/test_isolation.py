"""Strictly the customer's own: another customer's token, id or login never shows their data,
and a merchant never gets into the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrator.models import MerchantAccess
from tests.status.builders import merchant_login, page_text

pytestmark = pytest.mark.django_db

RIVAL_TRACES = ["RIVAL", "Konkurrenten", "99 999", "99,999", "99999"]


def assert_only_kaffe(response) -> None:
    assert response.status_code == 200
    text = page_text(response)
    assert "Kaffebönan AB" in text
    for trace in RIVAL_TRACES:
        assert trace not in text


def test_it_shows_each_token_only_its_own_customer(client, kaffe, rival):
    assert_only_kaffe(client.get(kaffe.status_url))
    rival_text = page_text(client.get(rival.status_url))
    assert "RIVAL" in rival_text and "KAFFE" not in rival_text


def test_it_puts_no_customer_id_in_the_url(kaffe):
    assert str(kaffe.customer.pk) not in kaffe.status_url.replace(kaffe.token, "")
    assert reverse("status-token", kwargs={"token": kaffe.token}) == f"/status/{kaffe.token}/"


@pytest.mark.parametrize(
    "path",
    [
        "/status/{rival_id}/",
        "/status/{kaffe_token}/{rival_id}/",
        "/status/{kaffe_token}/?customer={rival_id}",
        "/status/{kaffe_token}/?customer_id={rival_id}&integration={rival_integration}",
        "/status/?customer={rival_id}",
    ],
)
def test_it_never_lets_an_id_reach_another_customer(client, kaffe, rival, path):
    merchant_login(kaffe, "kaffe-ekonomi")
    client.login(username="kaffe-ekonomi", password="hemligt-lösen-123")
    url = path.format(
        rival_id=rival.customer.pk,
        kaffe_token=kaffe.token,
        rival_integration=rival.integration.pk,
    )

    response = client.get(url)

    if response.status_code == 404:
        assert "RIVAL" not in response.content.decode()
    else:
        assert_only_kaffe(response)


def test_it_shows_a_signed_in_merchant_their_own_page(client, kaffe, rival):
    merchant_login(kaffe, "kaffe-ekonomi")
    client.login(username="kaffe-ekonomi", password="hemligt-lösen-123")

    response = client.get("/status/")

    assert_only_kaffe(response)
    assert response["Cache-Control"] == "private, no-store, max-age=0"


def test_it_asks_an_anonymous_visitor_to_sign_in(client, kaffe):
    response = client.get("/status/")

    assert response.status_code == 302
    assert response["Location"].startswith("/status/login/?next=/status/")


def test_it_signs_in_only_merchants_with_the_same_answer_for_everyone_else(client, kaffe):
    merchant_login(kaffe, "kaffe-ekonomi")
    User.objects.create_user("personal", password="hemligt-lösen-123", is_staff=True)
    User.objects.create_user("ingen-kund", password="hemligt-lösen-123")

    merchant = client.post(
        "/status/login/", {"username": "kaffe-ekonomi", "password": "hemligt-lösen-123"}
    )
    assert merchant.status_code == 302 and merchant["Location"] == "/status/"
    client.logout()

    refusals = [
        client.post("/status/login/?lang=en", {"username": name, "password": password})
        for name, password in (
            ("personal", "hemligt-lösen-123"),
            ("ingen-kund", "hemligt-lösen-123"),
            ("kaffe-ekonomi", "fel"),
        )
    ]
    assert {r.status_code for r in refusals} == {200}
    assert all("Please enter a correct" in page_text(r) for r in refusals)


def test_it_gives_a_staff_user_no_merchant_page(admin_client, kaffe):
    assert admin_client.get("/status/").status_code == 404


def test_it_keeps_a_merchant_out_of_the_admin(client, kaffe):
    merchant_login(kaffe, "kaffe-ekonomi")
    client.login(username="kaffe-ekonomi", password="hemligt-lösen-123")

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_refuses_to_make_a_staff_user_a_merchant(kaffe):
    staff = User.objects.create_user("personal", is_staff=True)

    with pytest.raises(ValidationError):
        MerchantAccess(user=staff, customer=kaffe.customer).full_clean()


def test_it_signs_a_merchant_out(client, kaffe):
    merchant_login(kaffe, "kaffe-ekonomi")
    client.login(username="kaffe-ekonomi", password="hemligt-lösen-123")

    response = client.post("/status/logout/")

    assert response.status_code == 302 and response["Location"] == "/status/login/"
    assert client.get("/status/").status_code == 302
