"""The ledger in the admin as support staff use it: import a file, see payouts over time, filter
what needs attention, read why a payout cannot be booked, match again, book, and mark a line
handled with a comment that lands in the audit trail."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ledger.models import LedgerEvent, Payout, PayoutLine, Voucher
from ledger.services import payout_import
from tests.ledger.conftest import sample
from tests.ledger.klarna_documents import klarna_document

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:ledger_payout_changelist"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def payouts(plus):
    klarna = plus("klarna")
    for week in range(4):
        day = datetime.date(2026, 10, 2) + datetime.timedelta(weeks=week)
        payout_import(
            connection=klarna,
            source=klarna_document(
                f"W{week}", [("SALE", str(week), 10000 * (week + 1))], date=str(day)
            ),
        )
    payout_import(connection=klarna, source=klarna_document("RV", [("RETURN", "nope", 500)]))
    paypal = plus("paypal")
    payout_import(connection=paypal, source=sample("paypal_activity_download_en.csv"))
    return klarna, paypal


def test_the_list_shows_payout_totals_over_time_as_svg(admin_client, payouts):
    html = admin_client.get(reverse(CHANGELIST), **EN).content.decode()
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg"' in html
        and "<script" not in html.split("payout-chart")[1][:5000]
    )
    assert "Net paid out per week (SEK)" in html
    assert html.count("<rect ") >= 4
    assert "Import a settlement file" in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [("unmatched", {"RV"}), ("flagged", {"2026-11-03..2026-11-20 SEK"}), ("discrepancy", set())],
)
def test_the_reconciliation_filter(admin_client, payouts, value, expected):
    response = admin_client.get(reverse(CHANGELIST), {"reconciliation": value}, **EN)
    shown = {p.reference for p in response.context["cl"].result_list}
    assert shown == expected


def test_the_payout_page_explains_why_it_cannot_be_booked_and_totals_per_type(
    admin_client, payouts
):
    klarna, _paypal = payouts
    waiting = Payout.objects.get(reference="RV")
    html = admin_client.get(
        reverse("admin:ledger_payout_change", args=[waiting.pk]), **EN
    ).content.decode()
    assert "1 lines wait for review" in html
    assert "No sale of order nope has come from this gateway; nothing to credit." in html
    sek = Payout.objects.get(reference="2026-11-03..2026-11-20 SEK")
    html = admin_client.get(
        reverse("admin:ledger_payout_change", args=[sek.pk]), **EN
    ).content.decode()
    assert (
        "Totals per type" in html and "Reserve hold" in html and "-1500.00" in html.replace(",", "")
    )
    assert "PayPal Plus cannot be used when selling in several countries" in html


def test_import_a_file_through_the_admin(admin_client, plus):
    gateway = plus("nets")
    url = reverse("admin:ledger_payout_import")
    assert admin_client.get(url, **EN).status_code == 200
    upload = SimpleUploadedFile("nets.json", sample("nets_easy_payouts.json").read_bytes())
    response = admin_client.post(url, {"connection": gateway.pk, "file": upload}, follow=True, **EN)
    assert Payout.objects.get(connection=gateway).reference == "1006021"
    assert (
        "1 payouts, 4 lines in SEK imported (3 matched, 0 unmatched); net 1675.16."
        in response.content.decode()
    )


def test_a_rejected_upload_says_where_and_keeps_nothing(admin_client, plus):
    gateway = plus("klarna")
    broken = sample("klarna_payout_with_transactions.csv").read_text().replace(";189.00;", ";x;")
    upload = SimpleUploadedFile("k.csv", broken.encode())
    response = admin_client.post(
        reverse("admin:ledger_payout_import"), {"connection": gateway.pk, "file": upload}, **EN
    )
    assert (
        "row 11, field &#x27;amount&#x27;: &#x27;x&#x27; is not an amount."
        in response.content.decode()
    )
    assert not Payout.objects.exists()


def test_book_and_rematch_actions(admin_client, payouts):
    booked, waiting = Payout.objects.get(reference="W0"), Payout.objects.get(reference="RV")
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "book", ACTION_CHECKBOX_NAME: [booked.pk, waiting.pk]},
        follow=True,
        **EN,
    )
    html = response.content.decode()
    assert "W0 booked:" in html and "RV: 1 lines wait for review" in html
    assert (
        Voucher.objects.filter(payout=booked).exists()
        and not Voucher.objects.filter(payout=waiting).exists()
    )

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "rematch", ACTION_CHECKBOX_NAME: [waiting.pk]},
        follow=True,
        **EN,
    )
    assert "RV: 0 matched, 1 unmatched." in response.content.decode()
    assert LedgerEvent.objects.filter(payout=waiting, action="matched").exists()


def test_mark_a_line_handled_with_a_comment(admin_client, admin_user, payouts):
    line = PayoutLine.objects.get(payout__reference="RV")
    url = reverse("admin:ledger_payoutline_changelist")
    form = admin_client.post(url, {"action": "mark_handled", ACTION_CHECKBOX_NAME: [line.pk]}, **EN)
    assert "Mark lines handled" in form.content.decode()
    admin_client.post(
        url,
        {
            "action": "mark_handled",
            ACTION_CHECKBOX_NAME: [line.pk],
            "apply": "1",
            "comment": "Refund made from the bank, see ticket 4711.",
        },
        **EN,
    )
    line.refresh_from_db()
    assert (line.match, line.match_note) == (
        "handled",
        "Refund made from the bank, see ticket 4711.",
    )
    event = LedgerEvent.objects.get(line=line)
    assert (event.action, event.user, event.comment) == ("handled", admin_user, line.match_note)
    assert Payout.objects.get(reference="RV").status == Payout.Status.MATCHED


def test_set_the_exchange_rate(admin_client, payouts):
    eur = Payout.objects.get(currency="EUR")
    admin_client.post(
        reverse(CHANGELIST),
        {"action": "set_rate", ACTION_CHECKBOX_NAME: [eur.pk], "apply": "1", "rate": "11.2"},
        **EN,
    )
    eur.refresh_from_db()
    assert eur.exchange_rate == Decimal("11.2")


@pytest.mark.parametrize(
    "name", ["ledgeritem", "importedfile", "ledgerevent", "accountplan", "payoutline"]
)
def test_the_other_ledger_pages_render(admin_client, payouts, name):
    assert admin_client.get(reverse(f"admin:ledger_{name}_changelist")).status_code == 200
    line = PayoutLine.objects.filter(
        payout__reference="2026-11-03..2026-11-20 SEK", type="sale"
    ).last()
    html = admin_client.get(
        reverse("admin:ledger_payoutline_change", args=[line.pk]), **EN
    ).content.decode()
    assert "No: the gateway says 191.90, gross − fee is 191.93." in html
