"""The Visma client against the Visma sandbox, over real HTTP."""

from __future__ import annotations

import datetime
import json
import threading
import time
from decimal import Decimal

import jsonschema
import pytest
import requests
from django.db import connection as db_connection

from shops.clients.errors import (
    AuthExpired,
    OutcomeUnknown,
    RateLimited,
    RemoteDown,
    ValidationFailed,
)
from shops.clients.registry import client_for
from shops.clients.types import Address, NewErpCustomer, NewInvoiceDraft, NewInvoiceRow
from shops.clients.visma import VismaClient
from shops.models import Connection
from shops.sandbox.demo_data import NORRSKEN
from shops.sandbox.state import mint_token
from tests.shops.conftest import request_body_schema

ANNA = Address("Anna Lindqvist", "Storgatan 12", "", "411 38", "Göteborg", "SE")


def new_customer(client: VismaClient, number: str = "W1-C-1001", **changes) -> NewErpCustomer:
    fields = dict(
        customer_number=number,
        name="Anna Lindqvist",
        is_private_person=True,
        email="anna.lindqvist@example.se",
        phone="070-123 45 67",
        organisation_number="",
        vat_number="",
        invoice_address=ANNA,
        delivery_address=None,
        currency="SEK",
        terms_of_payment_id=client.default_terms_of_payment_id(),
    )
    fields.update(changes)
    return NewErpCustomer(**fields)


def new_draft(
    client: VismaClient, customer_id: str, reference: str = "WEB-1-100101"
) -> NewInvoiceDraft:
    pot, coffee, freight = (client.find_article(n) for n in ("KOK-1001", "MAT-2001", "FRAKT"))
    return NewInvoiceDraft(
        customer_id=customer_id,
        your_reference=reference,
        customer_is_private_person=True,
        invoice_address=ANNA,
        delivery_address=Address("Eva Nilsson", "Klostergatan 5", "", "222 22", "Lund", "SE"),
        invoice_date=datetime.date(2026, 11, 2),
        rows=[
            NewInvoiceRow(
                pot.id, "Gjutjärnsgryta 4 l", Decimal("1"), Decimal("1196.00"), Decimal("0")
            ),
            NewInvoiceRow(
                coffee.id, "Kaffe mörkrost 500 g", Decimal("2"), Decimal("89.00"), Decimal("10")
            ),
            NewInvoiceRow(
                freight.id, "Frakt PostNord", Decimal("1"), Decimal("39.20"), Decimal("0")
            ),
            NewInvoiceRow(
                None, "Order 100101 från webbshoppen", Decimal("0"), Decimal("0"), Decimal("0")
            ),
        ],
    )


pytestmark = pytest.mark.django_db


def test_it_creates_a_customer_once_and_finds_it_by_number(visma_connection, sandbox):
    client = client_for(visma_connection)
    assert client.find_customer("W1-C-1001") is None

    created = client.create_customer(new_customer(client))

    assert client.find_customer("W1-C-1001") == created
    visma = sandbox.state()["visma"]["companies"][NORRSKEN]
    assert visma["create_calls"]["customers"] == {"W1-C-1001": 1}
    assert visma["customers"][0]["InvoiceCity"] == "Göteborg"


def test_it_pages_through_articles(visma_connection, sandbox):
    client = VismaClient(visma_connection)

    numbers = [article.number for article in client.articles(page_size=4)]

    assert len(numbers) == 9 and "FRAKT" in numbers
    pages = [r["query"]["$page"] for r in sandbox.requests("visma") if r["path"] == "/v2/articles"]
    assert pages == ["1", "2", "3"]


def test_it_converts_a_draft_into_an_invoice_with_vat_from_the_articles(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    customer = client.create_customer(new_customer(client))

    draft = client.create_invoice_draft(new_draft(client, customer.id))
    invoice = client.convert_invoice_draft(draft.id)

    # Net 1196.00 + 160.20 + 39.20; VAT 299.00 (25 %) + 9.61 (6 %) + 9.80 (25 %).
    assert draft.total_amount == Decimal("1713.81")
    assert invoice.total_amount == invoice.remaining_amount == Decimal("1713.81")
    assert invoice.invoice_number == "10001"
    assert client.find_invoice("WEB-1-100101") == invoice
    assert client.find_invoice_draft("WEB-1-100101") is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_refreshes_an_expired_token_once_when_five_threads_need_it(visma_connection, sandbox):
    barrier = threading.Barrier(5)
    results: list[object] = []

    def worker() -> None:
        try:
            # Each thread is a worker of its own: its own client, Connection row and DB connection.
            client = VismaClient(Connection.objects.get(pk=visma_connection.pk))
            barrier.wait()
            results.append(client.find_article("KOK-1001"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [getattr(r, "number", r) for r in results] == ["KOK-1001"] * 5
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["token_requests"] == {"refresh_token": 1}


def test_it_refreshes_after_a_401_and_stores_the_rotated_refresh_token(visma_connection, sandbox):
    first = VismaClient(visma_connection)
    first.find_article("FRAKT")
    before = Connection.objects.get(pk=visma_connection.pk).credentials
    # A token Visma no longer accepts, though we believe it valid for another hour.
    expired = mint_token("visma-access", cid="demo-norrsken", co=NORRSKEN, exp=int(time.time()) - 5)
    visma_connection.update_credentials(access_token=expired, expires_at=int(time.time()) + 3600)

    assert VismaClient(visma_connection).find_article("FRAKT") is not None

    after = Connection.objects.get(pk=visma_connection.pk).credentials
    assert after["refresh_token"] not in (before["refresh_token"], "")
    assert after["access_token"] != expired
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["token_requests"] == {"refresh_token": 2}


def test_a_used_refresh_token_means_the_merchant_must_reconnect(visma_connection, sandbox):
    initial = visma_connection.credentials["refresh_token"]
    VismaClient(visma_connection).find_article("FRAKT")  # rotates the refresh token
    visma_connection.update_credentials(refresh_token=initial, access_token="", expires_at=0)

    with pytest.raises(AuthExpired) as raised:
        VismaClient(visma_connection).find_article("FRAKT")

    assert raised.value.needs_merchant
    assert initial not in json.dumps(raised.value.exchange)


def test_it_waits_out_a_429_on_a_read(visma_connection, sandbox):
    sandbox.configure(rate_limit=2, rate_window_s=1)
    client = VismaClient(visma_connection)
    client.find_article("FRAKT")  # the token is fetched before the clock starts
    started = time.monotonic()

    found = [client.find_article(n) for n in ("KOK-1001", "KOK-1002", "KOK-1003")]

    assert all(found)
    assert time.monotonic() - started >= 0.9  # Retry-After: 1
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["throttled"] >= 1


def test_a_429_on_a_write_is_raised_for_the_engine_to_reschedule(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    customer = new_customer(client)
    sandbox.fail_next("POST", "/visma/v2/customers", "429")

    with pytest.raises(RateLimited) as raised:
        client.create_customer(customer)

    assert raised.value.retry_after == 1
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["create_calls"] == {}


def test_it_names_the_field_visma_rejects(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    no_city = new_customer(
        client, invoice_address=Address("Anna Lindqvist", "Storgatan 12", "", "411 38", "", "SE")
    )

    with pytest.raises(ValidationFailed) as raised:
        client.create_customer(no_city)

    assert raised.value.field == "InvoiceCity"
    assert raised.value.exchange["status"] == 400
    assert raised.value.exchange["request_headers"]["Authorization"] == "[redacted]"
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["customers"] == []


def test_a_write_that_times_out_is_outcome_unknown_and_found_by_its_reference(
    visma_connection, sandbox
):
    client = VismaClient(visma_connection)
    customer = client.create_customer(new_customer(client))
    draft = new_draft(client, customer.id)
    sandbox.fail_next("POST", "/visma/v2/customerinvoicedrafts", "timeout")

    with pytest.raises(OutcomeUnknown):
        client.create_invoice_draft(draft)

    # The write lands after we gave up; the retry must look before it creates again.
    deadline = time.monotonic() + 5
    while (
        not sandbox.state()["visma"]["companies"][NORRSKEN]["customerinvoicedrafts"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert client.find_invoice_draft("WEB-1-100101") is not None
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["create_calls"][
        "customerinvoicedrafts"
    ] == {"WEB-1-100101": 1}


def test_a_lost_response_to_a_convert_is_outcome_unknown_and_the_invoice_exists(
    visma_connection, sandbox
):
    client = VismaClient(visma_connection)
    draft = client.create_invoice_draft(
        new_draft(client, client.create_customer(new_customer(client)).id)
    )
    sandbox.fail_next("POST", "/visma/v2/customerinvoicedrafts/", "drop")

    with pytest.raises(OutcomeUnknown):
        client.convert_invoice_draft(draft.id)

    assert client.find_invoice("WEB-1-100101").total_amount == Decimal("1713.81")


def test_a_read_is_retried_through_server_errors_but_a_write_is_not(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    customer = new_customer(client)
    sandbox.fail_next("GET", "/visma/v2/customers", "500", "502")

    assert client.find_customer("W1-C-1001") is None

    sandbox.fail_next("POST", "/visma/v2/customers", "502")
    with pytest.raises(RemoteDown):
        client.create_customer(customer)
    assert sandbox.state()["faults_injected"] == {"500": 1, "502": 2}


def test_a_refused_connection_is_remote_down_even_for_a_write(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    customer = new_customer(client)
    client.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port

    with pytest.raises(RemoteDown):
        client.create_customer(customer)


def test_every_body_we_send_validates_against_the_swagger(visma_connection, sandbox, swagger):
    client = VismaClient(visma_connection)
    company = new_customer(
        client,
        "W1-F-2001",
        name="Bergström Konsult AB " + "x" * 60,
        is_private_person=False,
        organisation_number="556804-3219",
        vat_number="SE556804321901",
        delivery_address=ANNA,
    )
    customer = client.create_customer(company)
    client.convert_invoice_draft(client.create_invoice_draft(new_draft(client, customer.id)).id)

    posts = [
        r
        for r in sandbox.requests("visma")
        if r["method"] == "POST" and r["path"].startswith("/v2/")
    ]
    assert [r["path"].split("/")[2] for r in posts] == ["customers"] + ["customerinvoicedrafts"] * 2
    for sent in posts:
        schema = request_body_schema(swagger, "POST", sent["path"])
        assert schema is not None, sent["path"]
        jsonschema.Draft4Validator(schema).validate(sent["body"])
    assert posts[0]["body"]["Name"] == ("Bergström Konsult AB " + "x" * 60)[:50]


def test_it_reads_the_field_from_the_message_when_visma_lists_none(visma_connection):
    response = requests.Response()
    response.status_code, response.reason = 400, "Bad Request"
    response._content = json.dumps(
        {
            "ErrorCode": 2000,
            "DeveloperErrorMessage": "The field Name must be a string with a maximum length of 50.",
            "ErrorId": "e1",
        }
    ).encode()

    message, field = VismaClient(visma_connection).error_details(response)

    assert field == "Name" and "ErrorCode 2000" in message
