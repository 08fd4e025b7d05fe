"""The Svea Payment Admin API client against the sandbox: the signed request and the daily
reconciliation report."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
import requests

from shops.clients.errors import NotFound
from shops.clients.svea import SveaClient, authorization
from tests.shops.test_gateway_clients import NOVEMBER, gateway_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def svea(sandbox_url) -> SveaClient:
    return SveaClient(gateway_connection("svea", sandbox_url))


def test_every_request_is_signed_with_a_fresh_timestamp(svea):
    headers = svea.auth_headers()

    stamp = datetime.datetime.strptime(headers["Timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs(stamp - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)).seconds < 5
    merchant, _, digest = base64.b64decode(headers["Authorization"][5:]).decode().partition(":")
    assert merchant == "124842" and len(digest) == 128
    assert headers["Authorization"] == authorization(
        "124842", "demo-kaffebonan-svea-secret", headers["Timestamp"]
    )


def test_a_payout_is_the_report_of_its_day_with_the_withheld_fees(svea, sandbox):
    payouts = list(svea.payouts(**NOVEMBER))

    assert [p.payout_id for p in payouts] == [f"2026-11-0{d}" for d in range(3, 7)]
    rows = list(svea.payout_transactions(payouts[0].payout_id))
    fees = [r for r in rows if r.kind == "Fee"]
    assert fees and all(r.amount == 0 and r.fee > 0 for r in fees)
    assert {r.order_reference for r in fees} <= {r.order_reference for r in rows if r.amount}
    asked = [r["query"] for r in sandbox.requests("svea")]
    assert all(q["includeWithholding"] == "true" for q in asked)


def test_without_withholding_svea_leaves_the_fee_rows_out(svea, sandbox_url):
    headers = svea.auth_headers()
    params = {"date": "2026-11-03", "includeWithholding": "false"}

    report = requests.get(
        f"{sandbox_url}/svea/api/v2/reports", headers=headers, params=params, timeout=5
    ).json()

    assert report["rows"] and all(r["transactionType"] != "Fee" for r in report["rows"])


def test_the_payout_file_is_the_days_report_as_svea_sent_it(svea):
    name, content = svea.payout_file("2026-11-04")

    assert name == "svea-report-2026-11-04.json"
    report = json.loads(content)
    assert sum(r["amount"] for r in report["rows"]) == report["payoutAmount"]
    assert all(r["externalOrderNo"].startswith("KB-5") for r in report["rows"])


def test_a_day_without_a_payout_is_not_found(svea):
    with pytest.raises(NotFound):
        svea.payout("2026-10-01")
    with pytest.raises(NotFound):
        svea.payout("yesterday")
