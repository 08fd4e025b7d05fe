"""The Visma client's catalogue, bookkeeping, order, payment, voucher and webhook calls against
the Visma sandbox, over real HTTP; every body we send is checked against the swagger."""

from __future__ import annotations

import datetime
from decimal import Decimal

import jsonschema
import pytest
import requests

from shops.clients.errors import ModuleMissing, PeriodClosed, ValidationFailed
from shops.clients.types import (
    Address,
    NewErpArticle,
    NewErpCustomer,
    NewErpOrder,
    NewInvoiceDraft,
    NewInvoiceRow,
    NewVoucher,
    NewVoucherRow,
)
from shops.clients.visma import VismaClient
from shops.models import Connection
from shops.sandbox.demo_data import FJALLBOK, NORRSKEN
from tests.shops.conftest import make_connection, request_body_schema

pytestmark = pytest.mark.django_db

ANNA = Address("Anna Lindqvist", "Storgatan 12", "", "411 38", "Göteborg", "SE")
DAY = datetime.date(2026, 11, 2)


def hook(sandbox, action: str, **body: object) -> dict:
    """A sandbox test hook: the merchant doing something in Visma or the shop."""
    response = requests.post(f"{sandbox.root}/_sandbox/{action}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def _customer(client: VismaClient, number: str = "W1-C-1001") -> str:
    return client.create_customer(
        NewErpCustomer(
            customer_number=number,
            name="Anna Lindqvist",
            is_private_person=True,
            email="anna@example.se",
            phone="",
            organisation_number="",
            vat_number="",
            invoice_address=ANNA,
            delivery_address=None,
            currency="SEK",
            terms_of_payment_id=client.default_terms_of_payment_id(),
        )
    ).id


def _rows(client: VismaClient) -> list[NewInvoiceRow]:
    pot, coffee = client.find_article("KOK-1001"), client.find_article("MAT-2001")
    return [
        NewInvoiceRow(
            pot.id, pot.name, Decimal("1"), Decimal("1196.00"), Decimal("0"), pot.vat_rate
        ),
        NewInvoiceRow(
            coffee.id, coffee.name, Decimal("2"), Decimal("89.00"), Decimal("10"), coffee.vat_rate
        ),
        NewInvoiceRow(None, "Order 100101", Decimal("0"), Decimal("0"), Decimal("0")),
    ]


def _order(client: VismaClient, reference: str = "WEB-1-100101") -> NewErpOrder:
    return NewErpOrder(
        customer_id=_customer(client),
        your_reference=reference,
        customer_is_private_person=True,
        invoice_address=ANNA,
        delivery_address=None,
        order_date=DAY,
        currency="SEK",
        rows=_rows(client),
    )


def _invoice(client: VismaClient):
    draft = NewInvoiceDraft(
        customer_id=_customer(client),
        your_reference="WEB-1-100102",
        customer_is_private_person=True,
        invoice_address=ANNA,
        delivery_address=None,
        invoice_date=DAY,
        rows=_rows(client),
    )
    return client.convert_invoice_draft(client.create_invoice_draft(draft).id)


def _payout_voucher(date: datetime.date, text: str = "KLARNA-P-77 payout") -> NewVoucher:
    return NewVoucher(
        date=date,
        text=text,
        rows=[
            NewVoucherRow(1930, debit=Decimal("970.00"), text="Utbetalning"),
            NewVoucherRow(6040, debit=Decimal("30.00"), text="Avgift"),
            NewVoucherRow(1686, credit=Decimal("1000.00"), text="Klarna"),
        ],
    )


# --- catalogue ----------------------------------------------------------------------------------


def test_an_article_carries_the_vat_rate_of_its_coding(visma_connection, sandbox):
    client = VismaClient(visma_connection)

    rates = {a.number: a.vat_rate for a in client.articles()}

    assert rates["KOK-1001"] == rates["FRAKT"] == Decimal("25")
    assert rates["MAT-2001"] == Decimal("6") and rates["CAT-4001"] == Decimal("12")
    assert client.find_article("KOK-1001").stock_available == Decimal("25")


def test_it_creates_an_article_once_and_updates_it_by_id(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    coding = client.coding_for_vat_rate(Decimal("12"))
    piece = next(u for u in client.units() if u.abbreviation == "st")
    new = NewErpArticle("CAT-4002", "Cateringpaket lunch", Decimal("1290.00"), coding.id, piece.id)

    created = client.create_article(new)
    updated = client.update_article(
        created.id, new.__class__(**{**vars(new), "name": "Lunchpaket"})
    )

    assert (created.vat_rate, updated.name) == (Decimal("12"), "Lunchpaket")
    assert client.find_article("CAT-4002").id == created.id
    company = sandbox.state()["visma"]["companies"][NORRSKEN]
    assert company["create_calls"]["articles"] == {"CAT-4002": 1}
    assert company["update_calls"]["articles"] == {"CAT-4002": 1}


def test_an_article_number_that_exists_is_refused_with_its_field(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    existing = client.find_article("FRAKT")

    with pytest.raises(ValidationFailed) as raised:
        client.create_article(
            NewErpArticle("frakt", "Frakt igen", Decimal("1"), existing.coding_id, existing.unit_id)
        )

    assert raised.value.field == "Number" and "ErrorCode 4000" in raised.value.message


def test_it_lists_what_a_company_is_set_up_with(visma_connection, sandbox):
    client = VismaClient(visma_connection)

    assert [t.days for t in client.terms_of_payment()] == [30, 10, 0]
    assert {u.abbreviation for u in client.units()} == {"st", "h", "kg"}
    assert {c.vat_rate for c in client.account_codings()} == {Decimal(r) for r in (25, 12, 6)}
    assert {v.code: v.vat_rate for v in client.vat_codes()}["12"] == Decimal("6.00")
    [bank] = client.bank_accounts()
    assert (bank.ledger_account_number, bank.is_default) == (1930, True)
    year = client.fiscal_year_for(DAY)
    assert {a.number for a in client.accounts(year.id)} >= {1510, 1686, 1930, 3001, 6570}
    assert client.find_account(1930, year.id).name == "Företagskonto"
    assert client.find_account(9999, year.id) is None


# --- fiscal years and locked periods ------------------------------------------------------------


def test_a_date_in_a_locked_period_is_a_clear_error_before_and_after_asking(
    visma_connection, sandbox
):
    client = VismaClient(visma_connection)
    assert client.ensure_period_open(DAY).start == datetime.date(2026, 1, 1)

    with pytest.raises(PeriodClosed) as checked:
        client.ensure_period_open(datetime.date(2025, 6, 30))
    with pytest.raises(PeriodClosed) as refused:
        client.create_voucher(_payout_voucher(datetime.date(2025, 6, 30)))
    with pytest.raises(PeriodClosed) as no_year:
        client.create_voucher(_payout_voucher(datetime.date(2031, 1, 2)))

    assert "locked" in checked.value.message and checked.value.needs_merchant
    assert refused.value.field == "VoucherDate" and "open the period" in refused.value.message
    assert "ErrorCode 3001" in no_year.value.message
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["vouchers"] == []


# --- vouchers -------------------------------------------------------------------------------------


def test_a_voucher_is_created_once_and_found_again_by_its_text(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    assert client.find_voucher("KLARNA-P-77", DAY) is None

    created = client.create_voucher(_payout_voucher(DAY))

    found = client.find_voucher("KLARNA-P-77", DAY)
    assert found == created and found.total_debit == Decimal("1000.00")
    assert client.find_voucher("KLARNA-P-77", DAY + datetime.timedelta(days=1)) is None
    assert sandbox.create_calls("visma", "vouchers") == {"KLARNA-P-77 payout": 1}


def test_an_unbalanced_voucher_is_never_sent(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    lopsided = NewVoucher(DAY, "X", [NewVoucherRow(1930, debit=Decimal("1")), NewVoucherRow(1686)])

    with pytest.raises(ValueError, match="does not balance"):
        client.create_voucher(lopsided)

    assert not [r for r in sandbox.requests("visma") if r["path"] == "/v2/vouchers"]


# --- orders ---------------------------------------------------------------------------------------


def test_an_order_is_created_found_by_its_reference_and_invoiced(visma_connection, sandbox):
    client = VismaClient(visma_connection)

    order = client.create_order(_order(client))
    invoice = client.convert_order(order.id)

    # Net 1196.00 + 160.20; VAT 299.00 + 9.61: worked out by Visma from the articles.
    assert (order.status, order.amount, order.vat_amount) == (
        "Ongoing",
        Decimal("1356.20"),
        Decimal("308.61"),
    )
    assert invoice.total_amount == Decimal("1664.81")
    assert client.find_order("WEB-1-100101").status == "Invoiced"
    assert client.find_invoice("WEB-1-100101") == invoice
    assert sandbox.create_calls("visma", "orders") == {"WEB-1-100101": 1}


def test_status_changes_made_in_visma_are_read_back(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    order = client.create_order(_order(client))
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=2)
    hook(sandbox, "visma/orders", company=NORRSKEN, Id=order.id, Status=3)

    changed = list(client.orders(changed_since=before))

    assert [(o.your_reference, o.status) for o in changed] == [("WEB-1-100101", "Shipped")]


def test_without_the_order_module_visma_says_it_is_needed(sandbox_url, sandbox):
    client = VismaClient(make_connection(Connection.Platform.VISMA, FJALLBOK, sandbox_url))
    customer = _customer(client)
    book = client.find_article("BOK-5001")
    order = NewErpOrder(
        customer,
        "WEB-9-5001",
        True,
        ANNA,
        None,
        DAY,
        "SEK",
        [NewInvoiceRow(book.id, book.name, Decimal("1"), Decimal("245"), Decimal("0"))],
    )

    with pytest.raises(ModuleMissing) as raised:
        client.create_order(order)

    assert "order module is needed" in raised.value.message
    assert raised.value.module == "order_standard" and raised.value.needs_merchant
    assert raised.value.exchange["status"] == 403


# --- payments -------------------------------------------------------------------------------------


def test_a_payment_settles_the_invoice_and_a_retry_pays_nothing_twice(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    invoice = _invoice(client)
    bank = client.bank_accounts()[0]

    paid = client.pay_invoice(
        invoice.id,
        amount=invoice.total_amount,
        payment_date=DAY,
        bank_account_id=bank.id,
        reference="KLARNA-P-77",
    )
    again = client.pay_invoice(
        invoice.id, amount=invoice.total_amount, payment_date=DAY, bank_account_id=bank.id
    )

    assert paid.amount == invoice.total_amount and again is None
    assert client.get_invoice(invoice.id).remaining_amount == Decimal("0.00")
    assert sandbox.create_calls("visma", "payments") == {invoice.invoice_number: 1}


def test_paying_more_than_is_left_is_refused_before_sending(visma_connection, sandbox):
    client = VismaClient(visma_connection)
    invoice = _invoice(client)

    with pytest.raises(ValidationFailed) as raised:
        client.pay_invoice(
            invoice.id,
            amount=invoice.total_amount + 1,
            payment_date=DAY,
            bank_account_id=client.bank_accounts()[0].id,
        )

    assert raised.value.field == "PaymentAmount"
    assert sandbox.create_calls("visma", "payments") == {}


# --- webhooks (beta at Visma) ---------------------------------------------------------------------


def test_webhooks_can_be_subscribed_and_removed(visma_connection, sandbox):
    client = VismaClient(visma_connection)

    hook = client.create_webhook("https://integrator.example/hooks/visma", [1, 5], "Orders")
    listed = client.webhooks()
    client.delete_webhook(hook.id)

    assert listed == [hook] and hook.subscriptions == [1, 5]
    assert client.webhooks() == []


# --- what we send ---------------------------------------------------------------------------------


def test_every_new_body_validates_against_the_swagger(visma_connection, sandbox, swagger):
    client = VismaClient(visma_connection)
    coding = client.coding_for_vat_rate(Decimal("25"))
    piece = client.units()[0]
    article = client.create_article(
        NewErpArticle(
            "KOK-1005",
            "Stekpanna " + "x" * 60,
            Decimal("499"),
            coding.id,
            piece.id,
            purchase_price=Decimal("210.50"),
            stock_balance=Decimal("12"),
        )
    )
    client.update_article(
        article.id, NewErpArticle("KOK-1005", "Stekpanna", Decimal("449"), coding.id, piece.id)
    )
    client.convert_order(client.create_order(_order(client, "WEB-1-100103")).id)
    invoice = client.find_invoice("WEB-1-100103")
    client.pay_invoice(
        invoice.id,
        amount=Decimal("100.00"),
        payment_date=DAY,
        bank_account_id=client.bank_accounts()[0].id,
        reference="PAYOUT-1",
        bank_fee=Decimal("2.50"),
    )
    client.create_voucher(_payout_voucher(DAY))

    sent = [
        r
        for r in sandbox.requests("visma")
        if r["method"] in ("POST", "PUT") and r["path"].startswith("/v2/") and "body" in r
    ]
    kinds = {(r["method"], r["path"].split("/")[2]) for r in sent}
    assert kinds >= {
        ("POST", "articles"),
        ("PUT", "articles"),
        ("POST", "orders"),
        ("POST", "customerinvoices"),
        ("POST", "vouchers"),
    }
    for request in sent:
        schema = request_body_schema(swagger, request["method"], request["path"])
        assert schema is not None, request["path"]
        jsonschema.Draft4Validator(schema).validate(request["body"])
