"""CSV formula injection: names come from shops and merchants, and an accountant opens our
exports in a spreadsheet. A name such as `=cmd|' /C calc'!A0` must arrive as text (after an
apostrophe), in the admin's CSV and XLSX exports and in the SIE file, while amounts stay
numbers."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.export_formats import spreadsheet_safe
from billing.models import FeeInvoice
from ledger.models import Row, Voucher
from tests import factories

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "==cmd|' /C calc'!A0",  # what survives django-import-export's own escaping
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]


def test_text_that_starts_like_a_formula_becomes_text_and_numbers_stay_numbers():
    for payload in PAYLOADS:
        assert spreadsheet_safe(payload) == "'" + payload
    for kept in ("-249.00", "+46", "1,5", "Kaffebönan AB", "", 12, Decimal("-1.00"), None):
        assert spreadsheet_safe(kept) == kept


@pytest.fixture
def invoices(db):
    made = []
    for n, payload in enumerate(PAYLOADS, start=1):
        customer = factories.customer(
            name=payload, organisation_number=factories.organisation_number(81000 + n)
        )
        made.append(
            FeeInvoice.objects.create(
                customer=customer,
                month=datetime.date(2026, 3, 1),
                number=f"F202603-{n}",
                subtotal=-200,
                vat="-50.00",
                total="-250.00",
            )
        )
    return made


@pytest.mark.parametrize("file_format", ["0", "1"])  # CSV, XLSX
def test_the_admin_export_neutralises_formulas(client, manager, invoices, file_format):
    client.force_login(manager)
    columns = {f"feeinvoiceresource_{name}": "on" for name in ("number", "customer_name", "total")}

    response = client.post(
        reverse("admin:billing_feeinvoice_export"),
        {"format": file_format, "resource": "0", **columns},
    )

    assert response.status_code == 200
    if file_format == "0":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    names = {row[1] for row in rows[1:]}
    assert names == {"'" + payload for payload in PAYLOADS}
    totals = {str(row[2]).replace(",", ".") for row in rows[1:]}
    assert totals in ({"-250.00"}, {"-250.0"}, {"-250"})  # a negative amount is no formula


def test_the_sie_export_neutralises_formulas(tmp_path):
    customer = factories.customer(name='=HYPERLINK("http://evil.example")')
    Voucher.objects.create_balanced(
        customer=customer,
        date=datetime.date(2026, 11, 3),
        text="=cmd|' /C calc'!A0",
        rows=[Row("1930", Decimal("-12.50"), "+SUM(1+1)"), Row("1686", Decimal("12.50"))],
    )
    output = tmp_path / "export.se"

    call_command(
        "export_sie",
        customer=customer.pk,
        date_from="2026-11-01",
        date_to="2026-11-30",
        output=str(output),
    )

    text = output.read_bytes().decode("cp437")
    assert '#FNAMN "\'=HYPERLINK(\\"http://evil.example\\")"' in text
    assert "\"'=cmd|' /C calc'!A0\"" in text
    assert '#TRANS 1930 {} -12.50 "" "\'+SUM(1+1)"' in text
