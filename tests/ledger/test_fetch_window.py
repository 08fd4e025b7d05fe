"""Which days a scheduled payouts fetch asks the gateway for: the merchant's start day the first
time, then on from where the last successful fetch got to, so a pause leaves no gap."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from ledger.models import Payout
from tests.ledger.sandbox_setup import clearing_bank_account, gateway_setup, run_payouts

pytestmark = pytest.mark.django_db
TENANT = "kaffebonan"  # the sandbox's Klarna payouts are dated 3–6 November 2026


def _today(monkeypatch, day: datetime.date) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def _asked_from(sandbox) -> list[str]:
    return [
        r["query"]["start_date"][:10]
        for r in sandbox.requests("klarna")
        if r["path"].endswith("/payouts") and "start_date" in r["query"]
    ]


def _scheduled_run(integration):
    return run_payouts(integration, since="", until="")  # no window chosen by a person


def test_without_a_start_day_the_first_fetch_looks_two_weeks_back(sandbox, monkeypatch):
    _today(monkeypatch, datetime.date(2026, 12, 6))
    integration = gateway_setup(sandbox, "klarna", TENANT)

    _scheduled_run(integration)

    assert _asked_from(sandbox)[-1] == "2026-11-22"
    assert not Payout.objects.filter(connection=integration.gateway).exists()


def test_the_first_fetch_starts_at_payouts_since_and_later_ones_catch_up_after_a_pause(
    sandbox, sandbox_server, monkeypatch
):
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT)
    integration.options = {"payouts_since": "2026-11-01"}
    integration.save()
    _today(monkeypatch, datetime.date(2026, 12, 6))

    job = _scheduled_run(integration)

    assert _asked_from(sandbox)[-1] == "2026-11-01"
    assert Payout.objects.filter(connection=integration.gateway).count() == 4
    assert job.transferred > 0

    # The worker was down for three weeks: the next fetch starts a week before 6 December,
    # not two weeks before the new today, so nothing paid out in between is skipped.
    _today(monkeypatch, datetime.date(2026, 12, 27))
    _scheduled_run(integration)
    assert _asked_from(sandbox)[-1] == "2026-11-29"
