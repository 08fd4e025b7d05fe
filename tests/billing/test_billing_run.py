"""`manage.py billing_run --month YYYY-MM`: one invoice per customer and month, the same one
however often it runs; what the preview promised is what the run creates."""

import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.invoicing import preview_next_invoice
from billing.models import FeeInvoice, FeeInvoiceLine, HourPurchase
from tests import factories

pytestmark = pytest.mark.django_db


def _run(month: str) -> dict:
    out = io.StringIO()
    call_command("billing_run", "--month", month, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def customers():
    started = factories.subscribed_customer("400", start=datetime.date(2026, 3, 16))
    running = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    factories.hour_purchase(running, "10", "9000", date=datetime.date(2026, 3, 3))
    ended = factories.subscribed_customer(
        "100", start=datetime.date(2025, 10, 1), end_date=datetime.date(2026, 1, 31)
    )
    return started, running, ended


def test_it_creates_one_invoice_per_customer_with_something_to_bill(customers):
    started, running, ended = customers

    summary = _run("2026-03")

    assert (summary["month"], summary["created"], summary["existing"]) == ("2026-03", 2, 0)
    by_customer = {row["customer"]: row for row in summary["invoices"]}
    assert set(by_customer) == {started.pk, running.pk}
    assert by_customer[started.pk]["total"] == "8512.90"
    # 495 + 9000 = 9495; VAT 2373.75
    assert by_customer[running.pk] == {
        "customer": running.pk,
        "customer_name": running.name,
        "number": f"F202603-{running.pk:05d}",
        "created": True,
        "subtotal": "9495.00",
        "vat": "2373.75",
        "total": "11868.75",
    }
    assert summary["total"] == str(Decimal("8512.90") + Decimal("11868.75"))
    assert not FeeInvoice.objects.filter(customer=ended).exists()


def test_it_leaves_the_invoices_alone_when_run_again(customers):
    first = _run("2026-03")
    second = _run("2026-03")

    assert (second["created"], second["existing"]) == (0, 2)
    assert [row["number"] for row in second["invoices"]] == [
        row["number"] for row in first["invoices"]
    ]
    assert FeeInvoice.objects.count() == 2
    assert FeeInvoiceLine.objects.count() == 4  # installation, 2 monthly fees, 1 hour package


def test_it_bills_an_hour_package_once_even_when_registered_late(customers):
    _started, running, _ended = customers
    _run("2026-03")
    late = factories.hour_purchase(running, "5", "5000", date=datetime.date(2026, 3, 30))

    april = _run("2026-04")

    invoice = FeeInvoice.objects.get(customer=running, month=datetime.date(2026, 4, 1))
    assert [line.kind for line in invoice.lines.all()] == ["monthly_fee", "hours"]
    assert HourPurchase.objects.get(pk=late.pk).invoice == invoice
    assert april["created"] == 2


def test_it_creates_what_the_preview_showed(customers, today):
    today(datetime.date(2026, 3, 25))
    started = customers[0]
    preview = preview_next_invoice(started)

    _run("2026-03")

    invoice = FeeInvoice.objects.get(customer=started)
    assert [(line.description, line.explanation, line.amount) for line in invoice.lines.all()] == [
        (line.description, line.explanation, line.amount) for line in preview.lines
    ]
    assert (invoice.subtotal, invoice.vat, invoice.total) == (
        preview.subtotal,
        preview.vat,
        preview.total,
    )


def test_it_prints_a_readable_summary_without_json(customers):
    out = io.StringIO()
    call_command("billing_run", "--month", "2026-03", stdout=out)
    text = out.getvalue()
    assert "created F202603-" in text and "2 created, 0 already there" in text


def test_it_refuses_a_month_it_cannot_read():
    with pytest.raises(CommandError, match="2026-03"):
        call_command("billing_run", "--month", "March")
