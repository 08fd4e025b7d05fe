"""The Visma client's sales price lists (Pro), cost centres and notes against the Visma sandbox,
over real HTTP; rows with a cost centre still validate against the swagger."""

from __future__ import annotations

import datetime
from decimal import Decimal

import jsonschema
import pytest
import requests

from shops.clients.errors import ValidationFailed
from shops.clients.types import Address, NewErpOrder, NewInvoiceDraft, NewInvoiceRow
from shops.clients.visma import VismaClient
from shops.clients.visma_sales import NOTE_ORDER, PriceListsUnavailable
from shops.models import Connection
from shops.sandbox.demo_data import FJALLBOK, NORRSKEN
from tests.shops.conftest import make_connection, request_body_schema
from tests.shops.test_visma_resources import _customer

pytestmark = pytest.mark.django_db

ANNA = Address("Anna Lindqvist", "Storgatan 12", "", "411 38", "Göteborg", "SE")
DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def client(visma_connection: Connection) -> VismaClient:
    return VismaClient(visma_connection)


def _row(client: VismaClient, cost_centre_id: str) -> NewInvoiceRow:
    pot = client.find_article("KOK-1001")
    return NewInvoiceRow(
        pot.id, pot.name, Decimal("1"), Decimal("1196.00"), Decimal("0"), pot.vat_rate,
        cost_centre_id=cost_centre_id,
    )  # fmt: skip


def test_a_pro_company_lists_its_price_lists_and_the_campaign_prices(client):
    lists = {p.name: p for p in client.sales_price_lists()}

    assert set(lists) == {"Standard", "Kampanj", "Återförsäljare"}
    assert lists["Standard"].is_standard and not lists["Kampanj"].is_standard
    pot = client.find_article("KOK-1001")
    campaign = {p.article_id: p for p in client.sales_prices(lists["Kampanj"].id)}
    assert campaign[pot.id].net_price == Decimal("999.20")
    assert campaign[pot.id].gross_price == Decimal("1249.00")
    assert client.sales_price(lists["Kampanj"].id, pot.id).net_price == Decimal("999.20")
    knife = client.find_article("KOK-1002")
    assert client.sales_price(lists["Kampanj"].id, knife.id) is None


def test_a_company_that_is_not_pro_is_told_so_without_guessing(sandbox_url):
    fjallbok = VismaClient(make_connection(Connection.Platform.VISMA, FJALLBOK, sandbox_url))

    with pytest.raises(PriceListsUnavailable, match="is Standard/Smart.*need Visma eEkonomi Pro"):
        fjallbok.sales_price_lists()
    # The endpoint itself refuses too, and the client reads that the same way.
    with pytest.raises(PriceListsUnavailable, match="Pro variant"):
        fjallbok.sales_prices("00000000-0000-0000-0000-000000000001")


def test_rows_carry_the_cost_centre_and_visma_refuses_one_it_does_not_have(
    client, sandbox, swagger
):
    centre = next(c for c in client.cost_centres() if c.number == 1)
    outlet = next(i for i in centre.items if i.short_name == "OUTLET")
    customer_id = _customer(client)

    client.create_invoice_draft(
        NewInvoiceDraft(customer_id, "WEB-1-5001", True, ANNA, None, DAY, [_row(client, outlet.id)])
    )
    order = NewErpOrder(
        customer_id, "WEB-1-5002", True, ANNA, None, DAY, "SEK", [_row(client, outlet.id)]
    )
    client.create_order(order)

    visma = sandbox.state()["visma"]
    draft = next(d for d in visma["customerinvoicedrafts"] if d["YourReference"] == "WEB-1-5001")
    created = next(o for o in visma["orders"] if o["YourReference"] == "WEB-1-5002")
    assert draft["Rows"][0]["CostCenterItemId1"] == outlet.id
    assert created["Rows"][0]["CostCenterItemId1"] == outlet.id
    for request in sandbox.requests("visma"):
        if request["method"] == "POST" and request["path"] in (
            "/v2/orders",
            "/v2/customerinvoicedrafts",
        ):
            schema = request_body_schema(swagger, "POST", request["path"])
            jsonschema.Draft4Validator(schema).validate(request["body"])

    unknown = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(ValidationFailed) as refused:
        client.create_order(
            NewErpOrder(
                customer_id, "WEB-1-5003", True, ANNA, None, DAY, "SEK", [_row(client, unknown)]
            )
        )
    assert refused.value.field == "Rows[0].CostCenterItemId1"
    assert "WEB-1-5003" not in sandbox.create_calls("visma", "orders")


def test_notes_are_read_for_the_documents_asked_about(client, sandbox, swagger):
    customer_id = _customer(client)
    order = client.create_order(
        NewErpOrder(customer_id, "WEB-1-5004", True, ANNA, None, DAY, "SEK", [_row(client, "")])
    )
    other = client.create_order(
        NewErpOrder(customer_id, "WEB-1-5005", True, ANNA, None, DAY, "SEK", [_row(client, "")])
    )
    client.create_note(order.id, NOTE_ORDER, "Spårning", "PostNord 00370712345678901234")
    client.create_note(other.id, NOTE_ORDER, "Kund ringde", "Vill ha leverans efter 17")

    notes = client.notes_by_document([order.id])

    assert [(n.subject, n.text) for n in notes[order.id.lower()]] == [
        ("Spårning", "PostNord 00370712345678901234")
    ]
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["notes"][-1]["AttachedTo"] == other.id
    response = requests.post(
        f"{sandbox.root}/visma/v2/notes",
        json={"AttachedTo": order.id, "DocumentType": 6, "Subject": "x" * 41},
        headers={"Authorization": f"Bearer {client.cached_access_token()}"},
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["Errors"][0]["Field"] == "Subject"
    ours = [
        sent["body"]
        for sent in sandbox.requests("visma")
        if sent["method"] == "POST" and sent["path"] == "/v2/notes" and sent["body"].get("Text")
    ]
    assert len(ours) == 2
    for body in ours:
        jsonschema.Draft4Validator(request_body_schema(swagger, "POST", "/v2/notes")).validate(body)


def test_the_demo_has_a_shipped_order_with_the_parcel_number_in_a_note(sandbox):
    visma = sandbox.state()["visma"]["companies"]["fjallmode-shops"]
    order = next(o for o in visma["orders"] if o["Status"] == 3)
    assert order["DeliveryMethodName"].startswith("PostNord")
    assert any(n["AttachedTo"] == order["Id"] and "0037071234" in n["Text"] for n in visma["notes"])
