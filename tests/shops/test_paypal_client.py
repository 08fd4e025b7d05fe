"""The PayPal client against the sandbox: the OAuth token, Transaction Search paging and
windows, withdrawals as payouts, and the STL settlement report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from shops.clients.paypal import PaypalClient
from shops.models import Connection
from tests.shops.test_gateway_clients import NOVEMBER, gateway_connection

pytestmark = pytest.mark.django_db

SPEC = "shared/specs/paypal-reporting-transactions-v1.openapi.json"


@pytest.fixture
def paypal(sandbox_url) -> PaypalClient:
    return PaypalClient(gateway_connection("paypal", sandbox_url))


def test_it_asks_for_a_token_once_and_keeps_it_on_the_connection(paypal, sandbox):
    list(paypal.payouts(**NOVEMBER))
    again = PaypalClient(Connection.objects.get(pk=paypal.connection.pk))
    list(again.payouts(**NOVEMBER))

    assert sandbox.state()["paypal"]["token_requests"] == 1
    assert again.last_exchange.request_headers["Authorization"] == "[redacted]"


def test_a_rejected_token_is_renewed_once(paypal, sandbox):
    paypal.connection.update_credentials(access_token="A21AAgarbage", expires_at=4102444800)

    assert len(list(paypal.payouts(**NOVEMBER))) == 4
    assert sandbox.state()["paypal"]["token_requests"] == 1


def test_it_reads_every_page_of_every_31_day_window(paypal, sandbox, monkeypatch):
    monkeypatch.setattr(PaypalClient, "PAGE_SIZE", 5)

    payouts = list(paypal.payouts(**NOVEMBER))

    assert len(payouts) == 4
    searches = [r["query"] for r in sandbox.requests("paypal") if r["query"].get("page")]
    # The month before the period (for the first payout's predecessor), then the period: 28
    # transactions in pages of five.
    assert [(q["start_date"][:10], q["page"]) for q in searches] == [
        ("2026-10-01", "1"),
        *[("2026-11-01", str(page)) for page in range(1, 7)],
    ]


def test_a_withdrawal_is_found_by_id_with_or_without_its_date(paypal):
    first = list(paypal.payouts(**NOVEMBER))[0]

    by_date = PaypalClient(paypal.connection).payout(first.payout_id, on=first.date)
    by_search = PaypalClient(paypal.connection).payout(first.payout_id)

    assert by_date == by_search == first
    assert first.raw["transaction_info"]["transaction_event_code"] == "T0400"


def test_the_payout_file_is_the_days_stl_settlement_report(paypal):
    payout = list(paypal.payouts(**NOVEMBER))[1]

    name, content = paypal.payout_file(payout.payout_id, on=payout.date)

    assert name == f"STL-{payout.date:%Y%m%d}.01.009.CSV"
    rows = list(csv.reader(io.StringIO(content.decode())))
    kinds = [row[0] for row in rows]
    body = [row for row in rows if row[0] == "SB"]
    assert kinds == ["RH", "FH", "SH", "CH", *["SB"] * len(body), "SF", "SC", "RF", "RC", "FF"]
    assert rows[3][1:4] == ["Transaction ID", "Invoice ID", "PayPal Reference ID"]
    assert int(rows[kinds.index("SC")][1]) == len(body)
    columns = rows[3]
    sweep = next(r for r in body if r[columns.index("Transaction Event Code")] == "T0400")
    assert sweep[columns.index("Transaction ID")] == payout.payout_id
    assert sweep[columns.index("Transaction  Debit or Credit")] == "DR"
    # Unsigned minor units: 12345 is 123.45 SEK.
    assert int(sweep[columns.index("Gross Transaction Amount")]) == int(payout.amount * 100)
    settled = {t.transaction_id for t in paypal.payout_transactions(payout.payout_id)}
    assert {r[1] for r in body} == settled | {payout.payout_id}


def test_search_answers_match_the_transaction_search_spec(paypal, sandbox_url):
    spec_path = Path(__file__).resolve().parents[2].parent / SPEC
    if not spec_path.exists():
        pytest.skip(f"{spec_path} is absent")
    spec = json.loads(spec_path.read_text())
    schema = {"$ref": "#/components/schemas/search_response", "components": spec["components"]}
    params = {
        "start_date": "2026-11-02T00:00:00Z",
        "end_date": "2026-11-06T00:00:00Z",
        "fields": "all",
    }

    body = paypal.request("GET", "/v1/reporting/transactions", params=params)

    jsonschema.validate(body, schema)
    assert body["total_items"] == len(body["transaction_details"]) == 28
