"""A malformed file is rejected with the row and the field named, and nothing of it is kept —
not even the lines already written before the broken row was reached."""

from __future__ import annotations

import json

import pytest

from ledger.models import ImportedFile, LedgerItem, Payout, PayoutLine
from ledger.services import ImportRejected, payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db


def _nothing_kept() -> bool:
    return not (
        Payout.objects.exists()
        or PayoutLine.objects.exists()
        or ImportedFile.objects.exists()
        or LedgerItem.objects.exists()
    )


def _klarna_csv(replace: str, by: str) -> bytes:
    text = sample("klarna_payout_with_transactions.csv").read_text()
    assert replace in text
    return text.replace(replace, by, 1).encode()


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (";749.00;", ";7,49,0;", r"row 7, field 'amount': '7,49,0' is not an amount"),
        (";189.00;", ";189.001;", r"row 11, field 'amount': '189.001' has more than two decimals"),
        (
            "SALE;2026-11-18",
            "PURCHASE;2026-11-18",
            r"row 7, field 'type': 'PURCHASE' is not a Klarna",
        ),
        (";SEK;K7Q2M9XA;SE;PURCHASE_FEE_FIXED", ";", r"row \d+: has \d+ fields, the header has 13"),
        (
            ";749.00;SEK;",
            ";749.00;EUR;",
            r"row 7, field 'currency': is EUR, but the payout K7Q2M9XA is in SEK",
        ),
        (
            "2026-11-20;SEK;NET",
            "20/11/2026;SEK;NET",
            r"row 2, field 'payout_date': '20/11/2026' is not a date",
        ),
        (";1780.83", ";", r"row 2, field 'total_settlement_amount': an amount is missing"),
    ],
)
def test_a_broken_klarna_csv_names_the_row_and_field(plus, replace, by, message):
    gateway = plus("klarna")
    if replace.endswith("PURCHASE_FEE_FIXED"):
        replace, by = ";SEK;K7Q2M9XA;SE;PURCHASE_RETURN", ";SE;PURCHASE_RETURN"
    with pytest.raises(ImportRejected, match=message) as rejected:
        payout_import(connection=gateway, source=_klarna_csv(replace, by))
    assert str(rejected.value).startswith("Nothing was imported.")
    assert _nothing_kept()


def test_a_broken_json_document_names_the_item_and_field(plus):
    document = json.loads(sample("klarna_settlements_api.json").read_text())
    del document["transactions"][2]["amount"]
    with pytest.raises(
        ImportRejected, match=r"transactions\[2\], field 'amount': an amount is missing"
    ):
        payout_import(connection=plus("klarna"), source=json.dumps(document).encode())
    document["transactions"][2]["amount"] = 249.5
    with pytest.raises(
        ImportRejected, match=r"transactions\[2\], field 'amount': 249.5 is not a whole"
    ):
        payout_import(connection=plus("klarna"), source=json.dumps(document).encode())
    assert _nothing_kept()


def test_json_that_does_not_parse_names_its_line(plus):
    broken = (
        sample("stripe_balance_transactions.json")
        .read_text()
        .replace('"fee": 900,', '"fee": 900', 1)
    )
    with pytest.raises(ImportRejected, match=r"row 20: not valid JSON: Expecting ',' delimiter"):
        payout_import(connection=plus("stripe"), source=broken.encode())
    assert _nothing_kept()


def test_a_bad_date_in_a_paypal_download_names_the_column(plus):
    text = sample("paypal_activity_download_en.csv").read_text().replace('"11/14/2026"', '"14 nov"')
    with pytest.raises(ImportRejected, match=r"row 6, field 'Date': '14 nov' is not a date"):
        payout_import(connection=plus("paypal"), source=text.encode())
    assert _nothing_kept()


def test_a_stripe_currency_that_is_no_currency(plus):
    text = (
        sample("stripe_balance_transactions.json")
        .read_text()
        .replace('"currency": "sek"', '"currency": "kronor"', 1)
    )
    with pytest.raises(
        ImportRejected, match=r"data\[0\], field 'currency': 'kronor' is not a currency"
    ):
        payout_import(connection=plus("stripe"), source=text.encode())


def test_an_error_deep_in_a_large_file_leaves_nothing_of_the_lines_written_before_it(plus):
    rows = [
        f"SALE;2026-11-17T09:00:00Z;2026-11-17T09:00:00Z;o{n};;c{n};{n};;10.00;SEK;BIG1;SE;"
        for n in range(4500)
    ]
    rows[4400] = rows[4400].replace(";10.00;", ";ten;")
    content = (
        "merchant_id;payment_reference;payout_date;currency_code;total_settlement_amount\n"
        "N1;BIG1;2026-11-20;SEK;45000.00\n\n"
        "type;capture_date;sale_date;order_id;short_order_id;capture_id;merchant_reference1;"
        "merchant_reference2;amount;posting_currency;payment_reference;purchase_country;detailed_type\n"
        + "\n".join(rows)
    )
    with pytest.raises(ImportRejected, match=r"row 4405, field 'amount': 'ten' is not an amount"):
        payout_import(connection=plus("klarna"), source=content.encode())
    assert _nothing_kept()
