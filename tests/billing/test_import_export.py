"""Import customers, time entries and hour purchases from CSV/XLSX with a preview first, errors
per row, and a re-import that changes nothing; export fee invoices and quota use."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.invoicing import run_month
from billing.models import Customer, HourPurchase, QuotaMonth, TimeEntry
from billing.quota import record_transferred_order
from billing.resources import (
    FeeInvoiceResource,
    HourPurchaseResource,
    QuotaUseResource,
    TimeEntryResource,
)
from tests import factories

pytestmark = pytest.mark.django_db

CSV = "0"  # the first import format of the billing admins

CUSTOMERS = """organisation_number,name,contact_email,account_manager
5560360793,Kaffebönan AB,lena@kaffebonan.se,anna
556677-8899,Tebladet AB,info@tebladet.se,
"""
BAD_CUSTOMERS = """organisation_number,name,contact_email,account_manager
556036-0793,Kaffebönan AB,lena@kaffebonan.se,anna
556036-0794,Fel Siffra AB,fel@example.se,
556677-8899,Tebladet AB,inte-en-adress,
556123-4567,Okänd Chef AB,chef@example.se,nobody
"""


def _upload(client, model: str, text: str):
    return client.post(
        reverse(f"admin:billing_{model}_import"),
        {
            "resource": "0",
            "format": CSV,
            "import_file": SimpleUploadedFile(f"{model}.csv", text.encode(), "text/csv"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _confirm(client, model: str, preview):
    form = preview.context["confirm_form"]
    return client.post(reverse(f"admin:billing_{model}_process_import"), form.initial)


def test_it_previews_a_customer_import_then_imports_it_once(client, manager):
    client.force_login(manager)

    preview = _upload(client, "customer", CUSTOMERS)

    assert preview.status_code == 200
    assert preview.context["result"].totals["new"] == 2
    assert not Customer.objects.exists()  # a preview is a dry run
    assert _confirm(client, "customer", preview).status_code == 302
    kaffe = Customer.objects.get(organisation_number="556036-0793")
    assert kaffe.account_manager == manager and kaffe.contact_email == "lena@kaffebonan.se"

    again = _upload(client, "customer", CUSTOMERS)
    assert again.context["result"].totals["skip"] == 2
    _confirm(client, "customer", again)
    assert Customer.objects.count() == 2


def test_it_names_the_bad_rows_and_imports_nothing(client, manager):
    client.force_login(manager)

    preview = _upload(client, "customer", BAD_CUSTOMERS)

    result = preview.context["result"]
    errors = {row.number: set(row.error_dict) for row in result.invalid_rows}
    assert errors == {
        2: {"organisation_number"},
        3: {"contact_email"},
        4: {"account_manager"},
    }
    html = preview.content.decode()
    assert "556036-0794 is not a valid Swedish organisation number" in html
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    assert not Customer.objects.exists()


def test_it_imports_time_entries_keyed_on_customer_date_who_category_and_text(manager, support):
    customer = factories.subscribed_customer("200", start_package_hours=Decimal("4"))
    number = customer.organisation_number.replace("-", "")
    rows = tablib.Dataset(headers=["customer", "date", "hours", "category", "description", "staff"])
    rows.append([number, "2026-03-02", "1.5", "Training", "Utbildning lager", "sven"])
    rows.append([number, "2026-03-03", "0.25", "qualified_support", "Felsökning", ""])

    resource = TimeEntryResource()
    first = resource.import_data(rows, user=manager)
    second = resource.import_data(rows, user=manager)

    assert not first.has_errors() and not first.has_validation_errors()
    assert first.totals["new"] == 2 and second.totals["skip"] == 2
    assert sorted(TimeEntry.objects.values_list("category", "hours", "staff__username")) == [
        ("qualified_support", Decimal("0.25"), "anna"),  # no "who": the importing person
        ("training", Decimal("1.50"), "sven"),
    ]


def test_it_rejects_time_entry_rows_it_cannot_book(manager):
    customer = factories.subscribed_customer("200")
    number = customer.organisation_number
    rows = tablib.Dataset(headers=["customer", "date", "hours", "category", "description", "staff"])
    rows.append(["556000-0000", "2026-03-02", "1", "training", "Okänd kund", "anna"])
    rows.append([number, "2026-03-02", "0.3", "training", "Inte en kvart", "anna"])
    rows.append([number, "2026-03-02", "1", "gardening", "Fel kategori", "anna"])
    rows.append([number, "2026-03-02", "3", "training", "Under noll", "anna"])
    rows.append([number, "2026-03-02", "1", "training", "Bra rad", "anna"])

    result = TimeEntryResource().import_data(rows, dry_run=True, user=manager)

    assert {row.number: set(row.error_dict) for row in result.invalid_rows} == {
        1: {"customer"},
        2: {"hours"},
        3: {"category"},
        4: {"below_zero_reason"},  # 2 start hours − 3 without a reason
    }
    assert result.totals["new"] == 1  # the good row, in the preview only
    assert not TimeEntry.objects.exists()


def test_it_updates_an_hour_purchase_on_reimport_but_not_an_invoiced_one(manager):
    customer = factories.subscribed_customer("200")
    headers = ["customer", "date", "hours", "price", "discount_percent", "note"]
    rows = tablib.Dataset(headers=headers)
    rows.append([customer.organisation_number, "2026-03-05", "10", "9500", "10", "Paket 10 h"])
    resource = HourPurchaseResource()
    resource.import_data(rows, user=manager)
    rows[0] = [customer.organisation_number, "2026-03-05", "10", "9000", "10", "Paket 10 h"]

    updated = resource.import_data(rows, user=manager)

    purchase = HourPurchase.objects.get()
    assert updated.totals["update"] == 1 and purchase.price == Decimal("9000")
    assert purchase.created_by == manager
    run_month(datetime.date(2026, 3, 1))
    rows[0] = [customer.organisation_number, "2026-03-05", "10", "8000", "10", "Paket 10 h"]
    refused = resource.import_data(rows, dry_run=True, user=manager)
    assert refused.has_validation_errors()
    assert HourPurchase.objects.get().price == Decimal("9000")


@pytest.fixture
def billed_month(today):
    today(datetime.date(2026, 4, 2))
    customer = factories.subscribed_customer("100", start=datetime.date(2026, 3, 16))
    for n in range(103):
        record_transferred_order(
            customer=customer,
            reference=f"WEB-{n}",
            transferred_at=datetime.datetime(2026, 3, 20, tzinfo=datetime.UTC),
        )
    run_month(datetime.date(2026, 3, 1))
    return customer


def test_it_exports_fee_invoices_to_csv_and_xlsx(billed_month):
    dataset = FeeInvoiceResource().export()

    assert dataset.headers[:7] == [
        "number",
        "customer",
        "organisation_number",
        "month",
        "subtotal",
        "vat",
        "total",
    ]
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    # 2200 installation + 295 × 16/31 = 152.26 + 3 orders over × 2.95 = 8.85
    assert (row["month"], row["subtotal"], row["vat"], row["total"]) == (
        "2026-03",
        "2361.11",
        "590.28",
        "2951.39",
    )
    assert "Installation, Paket 100: 2200.00" in row["lines"]
    sheet = openpyxl.load_workbook(io.BytesIO(dataset.export("xlsx"))).active
    assert [cell.value for cell in sheet[1]][:2] == ["number", "customer"]
    assert sheet.max_row == 2


def test_it_exports_quota_use_per_customer_and_month(billed_month):
    rows = QuotaUseResource().export(QuotaMonth.objects.all())
    assert [{k: str(v) for k, v in zip(rows.headers, row, strict=True)} for row in rows] == [
        {
            "customer": billed_month.name,
            "organisation_number": billed_month.organisation_number,
            "month": "2026-03",
            "used": "103",
            "quota": "100",
            "percent": "103",
            "overage": "3",
        }
    ]


def test_it_downloads_the_fee_invoice_export_from_the_admin(client, manager, billed_month):
    client.force_login(manager)
    url = reverse("admin:billing_feeinvoice_export")
    assert client.get(url).status_code == 200
    columns = {f"feeinvoiceresource_{name}": "on" for name in ("number", "customer_name", "total")}
    response = client.post(url, {"format": "1", "resource": "0", **columns})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["number", "customer", "total"],
        [f"F202603-{billed_month.pk:05d}", billed_month.name, 2951.39],
    ]
