"""What fuzzing the settlement parsers found, each kept as the example that broke them: every
one used to crash the import with a Python error (a 500 in the admin, a traceback from
`import_settlement`); now each is refused naming the row and field, or read correctly, and a
refusal keeps nothing."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from ledger.models import ImportedFile, LedgerItem, Payout, PayoutLine, Voucher
from ledger.parsers.base import STOCKHOLM
from ledger.services import ImportRejected, payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db


def _nothing_kept() -> bool:
    return not any(
        model.objects.exists() for model in (Payout, PayoutLine, ImportedFile, LedgerItem, Voucher)
    )


def _json_sample(name: str) -> dict:
    return json.loads(sample(name).read_text())


def _refused(gateway, content: bytes | dict, message: str) -> None:
    if isinstance(content, dict):
        content = json.dumps(content).encode()
    with pytest.raises(ImportRejected) as rejected:
        payout_import(connection=gateway, source=content)
    assert str(rejected.value) == f"Nothing was imported. {message}"
    assert _nothing_kept()


def test_an_absurd_amount_in_minor_units(plus):
    document = _json_sample("stripe_balance_transactions.json")
    document["data"][4]["amount"] = 1e30  # used to overflow the decimal context

    _refused(plus("stripe"), document, "data[4], field 'amount': 1e+30 is too large for an amount.")


def test_an_amount_too_large_for_the_ledger_in_minor_units(plus):
    document = _json_sample("klarna_settlements_api.json")
    document["transactions"][0]["amount"] = 10**20  # used to be imported, then overflow the DB

    _refused(
        plus("klarna"),
        document,
        "transactions[0], field 'amount': 100000000000000000000 is too large for an amount.",
    )


def test_an_absurd_amount_in_major_units(plus):
    document = _json_sample("svea_payment_admin_report.json")
    document["groups"][1]["rows"][0]["fee"] = 1e30

    _refused(plus("svea"), document, "groups[1][0], field 'fee': 1e+30 is too large for an amount.")


def test_a_timestamp_beyond_the_calendar(plus):
    document = _json_sample("nets_easy_payouts.json")
    document["payouts"][0]["payoutDate"] = -(10**20)  # used to raise OverflowError

    _refused(
        plus("nets"),
        document,
        "payouts[0], field 'payoutDate': -100000000000000000000 is not a date.",
    )


def test_a_stripe_billing_address_that_is_text(plus):
    document = _json_sample("stripe_balance_transactions.json")
    document["data"][0]["source"]["billing_details"]["address"] = "=cmd|' /C calc'!A0"

    payout_import(connection=plus("stripe"), source=json.dumps(document).encode())

    line = PayoutLine.objects.get(line_no=1)
    assert line.country == ""  # no country to read, and no AttributeError
    assert line.raw["source"]["billing_details"]["address"] == "=cmd|' /C calc'!A0"


def test_shopify_payouts_that_are_no_list(basic):
    gateway, _shop, _webshop = basic("shopify_payments")
    document = _json_sample("shopify_payments_payout.json")
    document["payouts"] = 1e30  # used to raise TypeError

    _refused(gateway, document, "payouts/transactions: should be lists.")


def test_a_paypal_date_with_a_huge_year(plus):
    content = sample("paypal_statement_sv.csv").read_text(encoding="utf-8-sig")
    content = content.replace('"2026-11-21"', '"99999999999999999999026-11-21"', 1)

    _refused(
        plus("paypal"),
        content.encode(),
        "row 2, field 'Datum': '99999999999999999999026-11-21' is not a date.",
    )


def test_a_paypal_time_with_a_huge_second_is_read_as_midday(plus):
    content = sample("paypal_statement_sv.csv").read_text(encoding="utf-8-sig")
    content = content.replace('"10:02:11"', '"10:02:199999999999999999999"', 1)

    payout_import(connection=plus("paypal"), source=content.encode())

    first = PayoutLine.objects.get(transaction_id="9SV11111AA0000001")
    assert first.occurred_at.astimezone(STOCKHOLM).hour == 12  # as for any time it cannot read


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000, "row 1: not valid JSON: it is nested too deeply."),
        (
            b'{"data": [{"amount": ' + b"9" * 5000 + b"}]}",
            "row 1: not valid JSON: a number in it has too many digits.",
        ),
    ],
)
def test_json_that_python_cannot_hold(plus, content, message):
    _refused(plus("stripe"), content, message)


@pytest.mark.parametrize("currency", ["ZZZ", "XXX", "XTS", "KR"])
def test_a_currency_that_iso_4217_does_not_know(plus, currency):
    document = _json_sample("stripe_balance_transactions.json")
    document["data"][0]["currency"] = currency

    _refused(
        plus("stripe"), document, f"data[0], field 'currency': {currency!r} is not a currency code."
    )


# --- encodings ----------------------------------------------------------------------------


def _klarna_totals(gateway, content: bytes) -> tuple[int, Decimal]:
    result = payout_import(connection=gateway, source=content).as_json()
    return result["lines"], Decimal(result["net"])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_a_file_saved_in_another_encoding_reads_the_same(plus, encoding):
    text = sample("paypal_statement_sv.csv").read_text(encoding="utf-8-sig").replace("–", "-")

    payout_import(connection=plus("paypal"), source=text.encode(encoding))

    line = PayoutLine.objects.get(transaction_id="9SV11111AA0000003")
    assert line.raw["Beskrivning"] == "Återbetalning" and line.gross == Decimal("-490.00")
    assert line.raw["Från e-postadress"] == "karin@example.se"


def test_utf_16_without_a_byte_order_mark_is_refused_with_what_to_do(plus):
    text = sample("klarna_payout_with_transactions.csv").read_text()

    _refused(
        plus("klarna"),
        text.encode("utf-16-le"),
        "row 1: has a NUL character, which no settlement file has: this is not a text file, or "
        "it is UTF-16 without a byte-order mark. Export it again as UTF-8 (in Excel: CSV UTF-8).",
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "row"),
    [
        ("klarna_payout_with_transactions.csv", ";1001;;", ";10\x0001;;", 5),
        ("stripe_balance_transactions.json", '"currency": "sek"', '"currency": "s\\u0000ek"', 8),
    ],
)
def test_a_nul_character_in_a_field_is_refused_naming_its_row(plus, name, old, new, row):
    # PostgreSQL cannot store one: the import used to fail there with a database error.
    content = sample(name).read_text()
    assert old in content

    with pytest.raises(ImportRejected, match=rf"^Nothing was imported. row {row}: has a NUL"):
        payout_import(
            connection=plus(name.split("_")[0]), source=content.replace(old, new, 1).encode()
        )
    assert _nothing_kept()


def test_a_utf_8_file_with_one_broken_byte_names_its_row(plus):
    content = sample("paypal_statement_sv.csv").read_bytes()
    broken = content.replace(b"Webbplatsbetalning", b"Webbplats\xffbetalning", 1)

    # Read as Windows-1252 instead, every "å" would have become "Ã¥" without a word.
    _refused(
        plus("paypal"),
        broken,
        "row 3: has bytes that are not UTF-8 text, although the rest of the file is. Export the "
        "file again, as UTF-8.",
    )


# --- size ---------------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    """An upload that counts what is read from it."""

    def __init__(self, content: bytes, size: int | None) -> None:
        super().__init__(content)
        self.read_bytes = 0
        if size is not None:
            self.size = size

    def read(self, n: int | None = -1) -> bytes:
        chunk = super().read(n)
        self.read_bytes += len(chunk)
        return chunk


LIMIT_MESSAGE = (
    "Nothing was imported. The file is larger than 1 MB, the most a settlement import reads "
    "(SETTLEMENT_MAX_MB). Split it, e.g. one file per payout."
)


def _big_klarna_file(lines: int) -> bytes:
    head = sample("klarna_payout_with_transactions.csv").read_text().split("\n")
    return ("\n".join(head[:4]) + "\n" + "\n".join([head[4]] * lines) + "\n").encode()


def test_a_file_over_the_limit_is_refused_before_it_is_read(plus, settings, tmp_path):
    settings.SETTLEMENT_MAX_MB = 1
    content = _big_klarna_file(8000)
    assert len(content) > 1024 * 1024
    upload = CountingStream(content, size=len(content))  # what the admin's upload says

    with pytest.raises(ImportRejected) as rejected:
        payout_import(connection=plus("klarna"), source=upload)

    assert str(rejected.value) == LIMIT_MESSAGE
    assert upload.read_bytes == 0
    assert _nothing_kept()

    path = tmp_path / "big.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=r"larger than 1 MB"):
        call_command("import_settlement", "--connection", plus("klarna").pk, str(path))
    assert _nothing_kept()


def test_a_stream_of_unknown_size_is_read_only_up_to_the_limit(plus, settings):
    settings.SETTLEMENT_MAX_MB = 1
    content = _big_klarna_file(40_000)  # about 5 MB
    stream = CountingStream(content, size=None)

    with pytest.raises(ImportRejected, match=r"larger than 1 MB"):
        payout_import(connection=plus("klarna"), source=stream)

    assert stream.read_bytes <= 2 * 1024 * 1024
    assert _nothing_kept()


def test_a_file_under_the_limit_is_imported(plus, settings):
    settings.SETTLEMENT_MAX_MB = 1
    lines, _net = _klarna_totals(plus("klarna"), _big_klarna_file(10))
    assert lines == 10


def test_an_upload_over_the_limit_is_refused_in_the_admin_with_the_reason(
    admin_client, plus, settings
):
    settings.SETTLEMENT_MAX_MB = 1
    gateway = plus("klarna")
    upload = SimpleUploadedFile("big.csv", _big_klarna_file(8000))

    response = admin_client.post(
        reverse("admin:ledger_payout_import"),
        {"connection": gateway.pk, "file": upload},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200  # the form again, with the error on the file
    assert "The file is larger than 1 MB" in response.content.decode()
    assert _nothing_kept()


def test_a_paypal_search_without_any_date_found_by_atheris(plus):
    # `make fuzz` found it: a start_date but no end_date, and the one EUR transaction without
    # its dates. The period was taken as max() of no dates: ValueError, a 500 in the admin.
    content = (Path(__file__).parent / "examples" / "paypal_search_without_dates.json").read_bytes()

    _refused(
        plus("paypal"),
        content,
        "transaction_details[2], field 'transaction_initiation_date': no EUR transaction has a "
        "date and the file states no period (start_date, end_date): the statement's period "
        "cannot be told.",
    )
