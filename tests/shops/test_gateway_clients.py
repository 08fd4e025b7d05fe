"""What every payment-gateway client promises, checked over HTTP against the running sandbox:
Klarna, Stripe, PayPal, Nets Easy and Svea for the demo coffee shop Kaffebönan AB.

Provider-specific behaviour (files, tokens, cursors) lives in test_<provider>_client.py."""

from __future__ import annotations

import datetime
import time
import types
from decimal import Decimal
from typing import Any

import pytest
import requests

from billing.models import Customer
from shops.clients.errors import AuthExpired, ValidationFailed
from shops.clients.registry import client_for
from shops.models import Connection
from shops.sandbox import gateway_data
from shops.sandbox.systems import system_class

pytestmark = pytest.mark.django_db

PROVIDERS = ("klarna", "stripe", "paypal", "nets", "svea")
# The demo's payout days and a few after them (where generated volume lands). Short on purpose:
# Svea answers one report per day.
NOVEMBER = {"date_min": datetime.date(2026, 11, 2), "date_max": datetime.date(2026, 11, 9)}
# The request every listing starts with, as a path from the sandbox root.
FIRST_PATHS = {
    "klarna": "/klarna/settlements/v1/payouts",
    "stripe": "/stripe/v1/payouts",
    "paypal": "/paypal/v1/reporting/transactions",
    "nets": "/nets/report/v1/payouts",
    "svea": "/svea/api/v2/reports",
}
# What each provider's demo credentials need changed to be wrong.
WRONG_CREDENTIALS = {
    "klarna": {"password": "not-the-password"},
    "stripe": {"secret_key": "sk_test_51RevokedKey0000"},
    "paypal": {"client_secret": "not-the-secret", "access_token": "", "expires_at": 0},
    "nets": {"secret_key": "test-secret-key-revoked"},
    "svea": {"secret": "not-the-secret"},
}
ORDER_STARTS = {"klarna": 10001, "stripe": 20001, "paypal": 30001, "nets": 40001, "svea": 50001}


def gateway_connection(platform: str, sandbox_url: str, **credential_changes: Any) -> Connection:
    """A Connection of Kaffebönan AB to the sandbox's copy of `platform`."""
    owner, _created = Customer.objects.get_or_create(
        organisation_number="556123-4567", defaults={"name": gateway_data.COMPANY_NAME}
    )
    base_url, credentials = system_class(platform).demo_connection(
        gateway_data.KAFFEBONAN, sandbox_url
    )
    connection = Connection(
        customer=owner, name=platform.title(), platform=platform, base_url=base_url
    )
    connection.credentials = {**credentials, **credential_changes}
    connection.save()
    return connection


def demo_payouts(platform: str) -> list[gateway_data.Payout]:
    """The sandbox's demo payouts, made again by the same deterministic generator."""
    fees = __import__(f"shops.sandbox.{platform}", fromlist=["FEES"]).FEES
    book = gateway_data.PayoutBook(
        platform, gateway_data.KAFFEBONAN, fees, ORDER_STARTS[platform], seed=1
    )
    return book.extend(gateway_data.DEMO_PAYOUTS, gateway_data.DEMO_EVENTS_PER_PAYOUT)


def as_decimal(minor_units: int) -> Decimal:
    """Öre as a Decimal built from digits, not arithmetic: an independent check of conversion."""
    sign, digits = ("-" if minor_units < 0 else ""), f"{abs(minor_units):03d}"
    return Decimal(f"{sign}{digits[:-2]}.{digits[-2:]}")


def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clients' pauses, recorded instead of slept (the sandbox keeps its real clock)."""
    pauses: list[float] = []
    fake = types.SimpleNamespace(sleep=pauses.append, monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr("shops.clients.base.time", fake)
    return pauses


@pytest.mark.parametrize("platform", PROVIDERS)
def test_it_reads_the_demo_payouts_exactly_and_their_transactions_add_up(platform, sandbox_url):
    client = client_for(gateway_connection(platform, sandbox_url))

    payouts = sorted(client.payouts(**NOVEMBER), key=lambda p: p.date)

    expected = demo_payouts(platform)
    assert len(payouts) == len(expected) == 4
    every_row = []
    for payout, neutral in zip(payouts, expected, strict=True):
        # PayPal's payout is the evening sweep of the sales day itself.
        day = neutral.sales_day if platform == "paypal" else neutral.payout_date
        assert (payout.date, payout.currency, payout.provider) == (day, "SEK", platform)
        assert payout.amount == as_decimal(neutral.net)
        assert payout.gross == as_decimal(neutral.gross)
        assert payout.fees == as_decimal(neutral.fees)
        assert payout.amount.as_tuple().exponent == -2

        rows = list(client.payout_transactions(payout.payout_id))
        assert sum(r.net for r in rows) == payout.amount
        assert sum(r.amount for r in rows) == payout.gross
        assert sum(r.fee for r in rows) == payout.fees
        assert all(r.net == r.amount - r.fee for r in rows)
        assert all(r.payout_id == payout.payout_id and r.provider == platform for r in rows)
        assert all(r.processed_at.tzinfo is not None and r.raw for r in rows)
        every_row += rows

    # Every row that moved a buyer's money names the shop's order; the demo has 22 sales, a
    # refund and a chargeback of orders sold in an earlier payout.
    sales = [r for r in every_row if r.amount > 0]
    undone = [r for r in every_row if r.amount < 0]
    first = ORDER_STARTS[platform]
    assert {r.order_reference for r in sales} == {f"KB-{first + n}" for n in range(22)}
    assert len(sales) == 22 and len(undone) == 2
    assert {r.order_reference for r in undone} <= {r.order_reference for r in sales}


@pytest.mark.parametrize("platform", PROVIDERS)
def test_a_502_and_a_429_are_waited_out_and_the_read_retried(
    platform, sandbox, settings, monkeypatch
):
    settings.RATE_LIMITS = {platform: None}  # this is about the remote 429, not our limiter
    client = client_for(gateway_connection(platform, sandbox.root))
    pauses = recorded_sleeps(monkeypatch)
    sandbox.fail_next("GET", FIRST_PATHS[platform], "502", "429")

    payouts = list(client.payouts(**NOVEMBER))

    assert len(payouts) == 4
    # A short back-off after the 502 (an HTML page, not the provider's JSON); after the 429
    # the Retry-After the provider sent, or a second when it sends none (Stripe, PayPal).
    assert pauses[:2] == [client.RETRY_BACKOFF[0], 1.0]
    outcomes = [r["outcome"] for r in sandbox.requests(platform) if r["method"] == "GET"]
    assert outcomes[:3] == ["502", "429", "200"]


@pytest.mark.parametrize("platform", PROVIDERS)
def test_revoked_credentials_surface_as_auth_expired(platform, sandbox_url):
    connection = gateway_connection(platform, sandbox_url, **WRONG_CREDENTIALS[platform])

    with pytest.raises(AuthExpired) as caught:
        list(client_for(connection).payouts(**NOVEMBER))

    assert caught.value.needs_merchant
    assert caught.value.exchange["status"] == 401
    assert "not-the" not in str(caught.value.exchange)


INVALID_READS = {
    # platform: (call, the field the provider names; Klarna's errors name none)
    "klarna": (lambda c: c.payouts_page(size=1000), ""),
    "stripe": (lambda c: list(c.payouts(page_size=1000)), "limit"),
    "paypal": (
        lambda c: c.request(
            "GET",
            "/v1/reporting/transactions",
            params={"start_date": "2026-10-01T00:00:00Z", "end_date": "2026-11-20T00:00:00Z"},
        ),
        "start_date",
    ),
    "nets": (lambda c: list(c.payouts(page_size=1000)), "pageSize"),
    "svea": (lambda c: c.request("GET", "/api/v2/reports", params={"date": "2026-13-45"}), "date"),
}


@pytest.mark.parametrize("platform", PROVIDERS)
def test_a_refused_read_names_the_field(platform, sandbox_url):
    client = client_for(gateway_connection(platform, sandbox_url))
    call, field = INVALID_READS[platform]

    with pytest.raises(ValidationFailed) as caught:
        call(client)

    assert caught.value.field == field
    assert caught.value.exchange["status"] == 400


@pytest.mark.parametrize("platform", PROVIDERS)
def test_volume_on_request_is_counted_and_still_adds_up(platform, sandbox_url):
    answer = requests.post(
        f"{sandbox_url}/_sandbox/{platform}/generate",
        json={"payouts": 3, "transactions_per_payout": 40},
        timeout=5,
    ).json()
    assert answer["payouts"] == 3 and answer["transactions"] == 120

    state = requests.get(f"{sandbox_url}/_sandbox/state", timeout=5).json()[platform]
    assert state["payouts"] == 7
    client = client_for(gateway_connection(platform, sandbox_url))
    after_demo = {**NOVEMBER, "date_min": datetime.date(2026, 11, 7)}
    newest = max(client.payouts(**after_demo), key=lambda p: p.date)
    rows = list(client.payout_transactions(newest.payout_id))
    assert sum(r.net for r in rows) == newest.amount
    assert len([r for r in rows if r.amount]) == 40


@pytest.mark.parametrize("platform", PROVIDERS)
def test_the_sandbox_enforces_its_own_rate_limit_with_the_providers_429(platform, sandbox_url):
    limit = {"limit": 1, "window_s": 30}
    url = f"{sandbox_url}/_sandbox/{platform}/rate_limit"
    requests.post(url, json=limit, timeout=5).raise_for_status()
    connection = gateway_connection(platform, sandbox_url)
    client = client_for(connection)
    client.GET_ATTEMPTS = 1

    with pytest.raises(Exception) as caught:
        for _ in range(3):
            list(client.payouts(**NOVEMBER))

    assert type(caught.value).__name__ == "RateLimited"
    assert caught.value.exchange["status"] == 429
    state = requests.get(f"{sandbox_url}/_sandbox/state", timeout=5).json()[platform]
    assert state["throttled"] >= 1
