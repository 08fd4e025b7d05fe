"""The Klarna Settlements API client against the sandbox: paging by offset, signed amounts, the
CSV settlement report. The contract every gateway keeps is in test_gateway_clients.py."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from shops.clients.errors import NotFound
from shops.clients.klarna import KlarnaClient
from tests.shops.test_gateway_clients import NOVEMBER, gateway_connection

pytestmark = pytest.mark.django_db

SPEC = "shared/specs/klarna-settlements-v1.openapi.yml"


@pytest.fixture
def klarna(sandbox_url) -> KlarnaClient:
    return KlarnaClient(gateway_connection("klarna", sandbox_url))


def test_it_pages_through_payouts_and_transactions_by_offset(klarna, sandbox):
    payouts = list(klarna.payouts(page_size=3, **NOVEMBER))
    rows = list(klarna.payout_transactions(payouts[0].payout_id, page_size=5))

    assert len(payouts) == 4
    assert [p.date for p in payouts] == sorted((p.date for p in payouts), reverse=True)
    assert len(rows) == 12  # six sales, each with its fee
    offsets = [(r["path"], r["query"]["offset"]) for r in sandbox.requests("klarna") if r["query"]]
    assert offsets == [
        ("/settlements/v1/payouts", "0"),
        ("/settlements/v1/payouts", "3"),
        ("/settlements/v1/transactions", "0"),
        ("/settlements/v1/transactions", "5"),
        ("/settlements/v1/transactions", "10"),
    ]
    assert klarna.last_exchange.request_headers["Authorization"] == "[redacted]"


def test_unsigned_minor_units_become_signed_decimals_by_type(klarna, sandbox):
    payout = next(p for p in klarna.payouts(**NOVEMBER) if p.raw["totals"]["return_amount"])
    rows = list(klarna.payout_transactions(payout.payout_id))

    sale = next(r for r in rows if r.kind == "SALE")
    fee = next(r for r in rows if r.kind == "FEE" and r.raw["capture_id"] == sale.raw["capture_id"])
    returned = next(r for r in rows if r.kind == "RETURN")
    assert sale.amount == Decimal(sale.raw["amount"]) / 100 and sale.fee == 0
    assert (fee.amount, fee.fee, fee.net) == (0, Decimal(fee.raw["amount"]) / 100, -fee.fee)
    assert returned.amount == -Decimal(returned.raw["amount"]) / 100 < 0
    assert sale.order_reference == sale.raw["merchant_reference1"]
    assert sale.transaction_id != fee.transaction_id  # Klarna gives both the capture id


def test_the_payout_file_is_klarnas_csv_settlement_report(klarna):
    payout = next(klarna.payouts(**NOVEMBER))

    name, content = klarna.payout_file(payout.payout_id)

    assert name == f"klarna-settlement-{payout.payout_id}.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode()), delimiter=";"))
    header = content.decode().splitlines()[0].split(";")
    assert header[:4] == ["merchant_id", "payment_reference", "payment_date", "currency_code"]
    assert {"type", "merchant_reference1", "amount", "total_settlement_amount"} <= set(header)
    assert len(rows) == len(list(klarna.payout_transactions(payout.payout_id)))
    assert {r["payment_reference"] for r in rows} == {payout.payout_id}
    sign = {"SALE": 1, "FEE": -1, "RETURN": -1, "REVERSAL": -1}
    assert sum(sign[r["type"]] * Decimal(r["amount"]) for r in rows) == payout.amount
    assert Decimal(rows[0]["total_settlement_amount"]) == payout.amount


def test_an_unknown_payout_is_not_found(klarna):
    with pytest.raises(NotFound):
        klarna.payout("0000000000")


def spec_schema(text: str, name: str) -> tuple[set[str], set[str]]:
    """(properties, required) of one schema of the Klarna spec, read by its YAML indentation
    (the project has no YAML parser, and this one needs none)."""
    lines = text.splitlines()
    properties: set[str] = set()
    required: set[str] = set()
    section = ""
    for line in lines[lines.index(f"    {name}:") + 1 :]:
        indent = len(line) - len(line.lstrip())
        if indent <= 4 and line.strip():
            break
        if indent == 6:
            section = line.strip().rstrip(":")
        elif section == "properties" and indent == 8:
            properties.add(line.strip().rstrip(":"))
        elif section == "required" and line.strip().startswith("- "):
            required.add(line.strip()[2:])
    return properties, required


def test_answers_use_only_the_specs_fields_and_all_it_requires(klarna):
    spec_path = Path(__file__).resolve().parents[2].parent / SPEC
    if not spec_path.exists():
        pytest.skip(f"{spec_path} is absent")
    text = spec_path.read_text()
    listing = klarna.request("GET", "/settlements/v1/payouts", params={"size": 2})
    payout = listing["payouts"][0]
    rows = klarna.request(
        "GET", "/settlements/v1/transactions", params={"payment_reference": "x", "size": 1}
    )
    transactions = [
        row
        for p in klarna.payouts(**NOVEMBER)
        for row in (t.raw for t in klarna.payout_transactions(p.payout_id))
    ]

    checks = [
        ("PayoutCollection", [listing]),
        ("TransactionCollection", [rows]),
        ("Pagination", [listing["pagination"], rows["pagination"]]),
        ("Payout", [payout]),
        ("Totals", [payout["totals"]]),
        ("Transaction", transactions),
    ]
    for schema, instances in checks:
        properties, required = spec_schema(text, schema)
        for instance in instances:
            assert set(instance) <= properties, (schema, set(instance) - properties)
            assert required <= set(instance), (schema, required - set(instance))
    assert {t["type"] for t in transactions} == {"SALE", "FEE", "RETURN", "REVERSAL"}
    assert all(isinstance(t["amount"], int) and t["amount"] > 0 for t in transactions)
