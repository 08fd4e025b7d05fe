"""The page a secret link opens: the customer's own status, in Swedish unless asked otherwise,
read-only, kept out of shared caches, and a link that stops working the moment it is rotated."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.conf import settings

from integrator.models import StatusPage
from tests.status.builders import page_text

pytestmark = pytest.mark.django_db


def test_it_shows_the_merchant_what_their_integration_is_doing(client, kaffe):
    text = page_text(client.get(kaffe.status_url + "?lang=en"))

    assert "Integration status · Kaffebönan AB" in text
    assert "KAFFE Jetshop → Visma: Needs your action" in text
    assert "Reconnect Visma eEkonomi: the authorisation expired" in text
    assert "Jetshop / Norce KAFFE webbshop · Webshop Working" in text
    assert "Total 3 5 2" in text  # orders, stock, payouts over the last two weeks
    assert "0 of 200 orders used (0 %)." in text
    assert "1 / 2 payouts reconciled, last 30 days" in text
    assert "2 lines waiting to be matched" in text
    assert "1 payouts with a discrepancy" in text
    assert "9.75 h left on your service account" in text
    assert "Felsökning av lagersaldo KAFFE" in text
    assert "Paket 200 · 495 SEK a month · up to 200 transferred orders a month" in text
    assert "An upgrade to Paket 400 would add 400 transferred orders a month instead of 200" in text


def test_it_keeps_only_a_hash_of_the_token(kaffe):
    page = StatusPage.objects.get(customer=kaffe.customer)

    stored = " ".join(str(value) for value in page.__dict__.values())
    assert kaffe.token not in stored
    assert page.token_hash == hashlib.sha256(kaffe.token.encode()).hexdigest()
    assert len(kaffe.token) >= 43  # 32 random bytes


def test_it_answers_an_unknown_a_rotated_and_a_malformed_link_alike(client, kaffe):
    old = kaffe.token
    StatusPage.issue(kaffe.customer)
    same_prefix = old[:10] + ("A" if old[10] != "A" else "B") + old[11:]
    answers = [
        client.get(f"/status/{token}/")
        for token in (old, same_prefix, "x" * 43, "kort", str(kaffe.customer.pk))
    ]

    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    assert "Kaffebönan" not in answers[0].content.decode()


def test_it_stops_the_old_link_the_moment_it_is_rotated(client, kaffe):
    assert client.get(kaffe.status_url).status_code == 200

    _page, new_token = StatusPage.issue(kaffe.customer)

    assert client.get(kaffe.status_url).status_code == 404
    assert client.get(f"/status/{new_token}/").status_code == 200


def test_it_keeps_the_page_out_of_shared_caches_referers_and_search_engines(client, kaffe):
    for response in (client.get(kaffe.status_url), client.get("/status/" + "x" * 43 + "/")):
        assert response["Cache-Control"] == "private, no-store, max-age=0"
        assert response["Referrer-Policy"] == "no-referrer"
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert "script-src" not in response["Content-Security-Policy"]
        assert "default-src 'none'" in response["Content-Security-Policy"]


def test_it_is_read_only(client, kaffe):
    for method in (client.post, client.put, client.patch, client.delete):
        response = method(kaffe.status_url)
        assert response.status_code == 405
        assert response["Cache-Control"] == "private, no-store, max-age=0"


def test_it_speaks_swedish_even_to_a_browser_that_asks_for_english(client, kaffe):
    response = client.get(kaffe.status_url, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert response["Content-Language"] == "sv"
    assert '<html lang="sv">' in response.content.decode()
    # Swedish day names in the transfer table come from Django's own Swedish translations.
    assert re.search(r"\b(mån|tis|ons|tors|fre|lör|sön) \d+ ", page_text(response))


def test_it_switches_to_english_and_remembers_the_choice(client, kaffe):
    switched = client.get(kaffe.status_url + "?lang=en")
    assert switched["Content-Language"] == "en"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    again = client.get(kaffe.status_url)
    assert again["Content-Language"] == "en"
    back = client.get(kaffe.status_url + "?lang=sv")
    assert back["Content-Language"] == "sv"


def test_it_follows_djangos_set_language_too(client, kaffe):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert client.get(kaffe.status_url)["Content-Language"] == "en"
