"""A merchant who forgot the status page password gets a one-time link by e-mail; nobody else
does, and the page never tells who has an account."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.status.builders import merchant_login

pytestmark = pytest.mark.django_db
LINK = re.compile(r"(https?://\S+/status/password-reset/\S+/)")


def _ask(client, email: str, lang: str = "sv"):
    return client.post(f"/status/password-reset/?lang={lang}", {"email": email}, follow=True)


def test_a_merchant_sets_a_new_password_from_the_mailed_link_and_signs_in(client, kaffe, settings):
    settings.SITE_URL = "https://status.example.se"
    merchant_login(kaffe, "kaffe-ekonomi")

    page = _ask(client, "kaffe-ekonomi@example.se")

    assert "Kolla din e-post" in page.content.decode()
    [message] = mail.outbox
    assert message.to == ["kaffe-ekonomi@example.se"]
    assert "nytt lösenord" in message.subject
    link = LINK.search(message.body).group(1)
    assert link.startswith("https://status.example.se/status/password-reset/")

    form = client.get(link.removeprefix("https://status.example.se"), follow=True)
    assert form["Referrer-Policy"] == "no-referrer"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "ny-kaffe-kod-2026", "new_password2": "ny-kaffe-kod-2026"},
        follow=True,
    )
    assert "Ditt nya lösenord är sparat" in done.content.decode()

    signed_in = client.post(
        "/status/login/", {"username": "kaffe-ekonomi", "password": "ny-kaffe-kod-2026"}
    )
    assert signed_in["Location"] == "/status/"
    assert "KAFFE" in client.get("/status/").content.decode()
    # The link worked once.
    again = client.get(link.removeprefix("https://status.example.se"), follow=True)
    assert "har redan använts eller är för gammal" in again.content.decode()


def test_staff_and_strangers_get_the_same_answer_and_no_mail(client, kaffe):
    User.objects.create_user("personal", email="personal@example.se", password="x", is_staff=True)

    answers = [
        _ask(client, email, lang="en").content.decode()
        for email in ("personal@example.se", "nobody@example.se")
    ]

    assert all("Check your e-mail" in answer for answer in answers)
    assert mail.outbox == []


def test_a_reset_link_for_a_staff_account_sets_no_password_here(client, kaffe):
    staff = User.objects.create_user("personal", email="p@example.se", password="gammalt-lösen-1")
    staff.is_staff = True
    staff.save()
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    token = default_token_generator.make_token(staff)

    page = client.post(
        f"/status/password-reset/{uid}/{token}/?lang=en",
        {"new_password1": "kapat-lösen-2026", "new_password2": "kapat-lösen-2026"},
        follow=True,
    )

    assert "has been used or is too old" in page.content.decode()
    staff.refresh_from_db()
    assert staff.check_password("gammalt-lösen-1")


def test_asking_again_and_again_is_rate_limited(client, kaffe, settings):
    settings.STATUS_LOGIN_RATE_LIMIT_PER_IP = 3
    merchant_login(kaffe, "kaffe-ekonomi")

    answers = [_ask(client, "kaffe-ekonomi@example.se").status_code for _ in range(5)]

    assert answers == [200, 200, 200, 429, 429]
    assert len(mail.outbox) == 3
