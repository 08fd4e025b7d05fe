"""Issuing and rotating the secret link: `manage.py status_url` and the admin. A link is shown
once; rotating it stops the old one at once."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command

from integrator.models import StatusPage
from tests import factories
from tests.status import builders

pytestmark = pytest.mark.django_db


def status_url(*args: str) -> str:
    out = StringIO()
    call_command("status_url", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_link_that_opens_the_customers_page(client, settings):
    settings.SITE_URL = "https://status.integrationer.se"
    customer = factories.customer(name="Kaffebönan AB")

    link = status_url("--customer", str(customer.pk))

    assert link.startswith("https://status.integrationer.se/status/")
    assert str(customer.pk) not in urlparse(link).path.split("/")
    response = client.get(urlparse(link).path)
    assert response.status_code == 200 and "Kaffebönan AB" in builders.page_text(response)


def test_it_prints_the_same_link_again_and_replaces_it_only_when_told_to(client):
    customer = factories.customer(name="Kaffebönan AB")
    first = urlparse(status_url("--customer", str(customer.pk))).path

    assert urlparse(status_url("--customer", str(customer.pk))).path == first
    assert client.get(first).status_code == 200

    second = urlparse(status_url("--customer", str(customer.pk), "--rotate")).path
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_it_names_an_unknown_customer():
    with pytest.raises(CommandError, match="No customer with id 999999"):
        status_url("--customer", "999999")


def test_it_lets_support_issue_a_link_in_the_admin_and_shows_it_once(admin_client, client):
    customer = factories.customer(name="Kaffebönan AB")

    response = admin_client.post(
        "/admin/integrator/statuspage/add/", {"customer": customer.pk}, follow=False
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    link = response.context["links"][0][1]
    assert client.get(urlparse(link).path).status_code == 200
    assert "messages" not in response.cookies  # the link is not kept in a cookie
    page = StatusPage.objects.get(customer=customer)
    assert admin_client.get(f"/admin/integrator/statuspage/{page.pk}/change/").status_code == 200


def test_it_lets_support_rotate_links_in_the_admin(admin_client, client):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    page = StatusPage.objects.get(customer=world.customer)

    response = admin_client.post(
        "/admin/integrator/statuspage/",
        {"action": "rotate_links", "_selected_action": [page.pk]},
    )

    assert response.status_code == 200
    new_link = response.context["links"][0][1]
    assert new_link in response.content.decode()
    assert client.get(world.status_url).status_code == 404
    assert client.get(urlparse(new_link).path).status_code == 200


def test_it_refuses_a_staff_account_as_a_merchant_login_in_the_admin(
    admin_client, django_user_model
):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    staff = django_user_model.objects.create_user("personal", is_staff=True)
    merchant = django_user_model.objects.create_user("kaffe-ekonomi")

    refused = admin_client.post(
        "/admin/integrator/merchantaccess/add/", {"user": staff.pk, "customer": world.customer.pk}
    )
    accepted = admin_client.post(
        "/admin/integrator/merchantaccess/add/",
        {"user": merchant.pk, "customer": world.customer.pk},
    )

    assert refused.status_code == 200 and refused.context["adminform"].form.errors
    assert accepted.status_code == 302


def test_it_keeps_no_readable_token_in_the_database():
    customer = factories.customer(name="Kaffebönan AB")
    token = urlparse(status_url("--customer", str(customer.pk))).path.strip("/").split("/")[-1]
    page = StatusPage.objects.get(customer=customer)
    assert token not in page.token_encrypted and token not in page.token_hash
    assert page.token() == token
