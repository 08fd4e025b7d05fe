"""The Klarna Settlements API client against the sandbox: paging by offset, signed amounts, the
CSV settlement report. The contract every gateway keeps is in test_gateway_clients.py."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from stdnum.se import orgnr

from shops.clients.errors import AuthExpired, NotFound
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


# --- Order Management: the lines of the order a settlement row names ----------------------------


def test_an_orders_lines_add_up_to_its_sale_with_klarnas_rates(klarna, sandbox):
    payout = min(klarna.payouts(**NOVEMBER), key=lambda p: p.date)
    sales = [t for t in klarna.payout_transactions(payout.payout_id) if t.kind == "SALE"]

    for sale in sales:
        order = klarna.gateway_order(sale.source_id)
        assert order.order_id == sale.source_id
        assert order.order_reference == sale.order_reference
        assert sum(line.total_amount for line in order.lines) == order.amount == sale.amount
        for line in order.lines:
            assert line.vat_rate in {Decimal(6), Decimal(12), Decimal(25)}
            assert line.total_amount == line.quantity * line.unit_price - line.total_discount_amount
            net = line.total_amount * 100 / (100 + line.vat_rate)
            assert abs(line.total_amount - net - line.total_tax_amount) <= Decimal("0.01")
            assert line.reference and line.name
    request = next(r for r in sandbox.requests("klarna") if "ordermanagement" in r["path"])
    assert request["path"] == f"/ordermanagement/v1/orders/{sales[0].source_id}"
    raw = klarna.gateway_order(sales[0].source_id).raw
    assert isinstance(raw["order_lines"][0]["tax_rate"], int)  # 2500 = 25 %, minor units
    assert {"order_id", "order_lines", "order_amount", "billing_address", "refunds"} <= set(raw)


def test_a_refund_names_the_lines_that_came_back(klarna):
    payout = next(p for p in klarna.payouts(**NOVEMBER) if p.raw["totals"]["return_amount"])
    returned = next(t for t in klarna.payout_transactions(payout.payout_id) if t.kind == "RETURN")

    order = klarna.gateway_order(returned.source_id)
    refund = next(r for r in order.refunds if r.refund_id == returned.raw["refund_id"])
    assert refund.amount == -returned.amount == sum(line.total_amount for line in refund.lines)


def test_a_company_buyer_has_its_organisation_number(klarna):
    orders = [
        klarna.gateway_order(t.source_id)
        for p in klarna.payouts(**NOVEMBER)
        for t in klarna.payout_transactions(p.payout_id)
        if t.kind == "SALE"
    ]
    companies = [o for o in orders if o.organisation_number]
    assert companies and len(companies) < len(orders)
    assert all(orgnr.is_valid(o.organisation_number) and o.company_name for o in companies)


def test_an_unknown_order_is_not_found_with_klarnas_error(klarna):
    with pytest.raises(NotFound) as raised:
        klarna.gateway_order("00000000-0000-0000-0000-000000000000")
    assert "NO_SUCH_ORDER" in raised.value.message
    assert klarna.last_exchange.status == 404


def test_orders_need_the_merchants_credentials(sandbox_url):
    other = KlarnaClient(gateway_connection("klarna", sandbox_url, password="wrong"))
    with pytest.raises(AuthExpired):
        other.gateway_order("00000000-0000-0000-0000-000000000000")
