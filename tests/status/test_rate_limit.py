"""Requests are rate limited per client address and per token, in Django's cache (shared by all
web processes when it is Redis), so guessing tokens or passwords goes nowhere."""

from __future__ import annotations

import pytest

from integrator import ratelimit_web
from tests.status.builders import merchant_login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """All requests of a test fall in one counting window, even at a minute's turn."""
    monkeypatch.setattr(ratelimit_web, "clock", lambda: 1_800_000_030.0)


def test_it_slows_down_one_address_that_asks_too_often(client, kaffe, settings):
    settings.STATUS_RATE_LIMIT_PER_IP = 3
    answers = [
        client.get(kaffe.status_url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)
    ]

    assert answers == [200, 200, 200, 429]
    refused = client.get(kaffe.status_url, REMOTE_ADDR="203.0.113.7")
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert refused["Cache-Control"] == "private, no-store, max-age=0"
    assert client.get(kaffe.status_url, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_it_counts_guesses_at_unknown_tokens_too(client, kaffe, settings):
    settings.STATUS_RATE_LIMIT_PER_IP = 5
    guesses = [client.get(f"/status/{'g' * 42}{n}/").status_code for n in range(6)]

    assert guesses == [404] * 5 + [429]
    assert client.get(kaffe.status_url).status_code == 429  # the address, not the token, is slowed


def test_it_limits_one_token_from_many_addresses(client, kaffe, settings):
    settings.STATUS_RATE_LIMIT_PER_TOKEN = 2
    answers = [
        client.get(kaffe.status_url, REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(3)
    ]

    assert answers == [200, 200, 429]


def test_it_limits_password_guessing_on_the_merchant_login(client, kaffe, settings):
    settings.STATUS_LOGIN_RATE_LIMIT_PER_IP = 3
    merchant_login(kaffe, "kaffe-ekonomi")
    tries = [
        client.post("/status/login/", {"username": "kaffe-ekonomi", "password": f"fel-{n}"})
        for n in range(3)
    ]
    right = client.post(
        "/status/login/", {"username": "kaffe-ekonomi", "password": "hemligt-lösen-123"}
    )

    assert [t.status_code for t in tries] == [200, 200, 200]
    assert right.status_code == 429


def test_it_reads_the_client_address_from_the_proxy_header_when_told_to(client, kaffe, settings):
    settings.STATUS_RATE_LIMIT_PER_IP = 1
    settings.RATELIMIT_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    first = client.get(kaffe.status_url, HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.7")
    other = client.get(kaffe.status_url, HTTP_X_FORWARDED_FOR="203.0.113.8")
    again = client.get(kaffe.status_url, HTTP_X_FORWARDED_FOR="anything, 203.0.113.7")

    assert (first.status_code, other.status_code, again.status_code) == (200, 200, 429)
