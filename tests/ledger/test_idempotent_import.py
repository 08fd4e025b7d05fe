"""The same file twice is a no-op that says what was already there; so is a payout that comes
again in another file; a file overlapping transactions of an earlier import is refused."""

from __future__ import annotations

import pytest

from ledger.models import LedgerEvent, Payout, PayoutLine
from ledger.services import ImportRejected, payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db


def test_the_same_file_twice_imports_nothing_the_second_time(plus):
    gateway = plus("klarna")
    payout_import(
        connection=gateway, source=sample("klarna_settlements_api.json"), name="week48.json"
    )
    again = payout_import(connection=gateway, source=sample("klarna_settlements_api.json"))

    assert again.as_json() == {
        "payouts": 0,
        "lines": 0,
        "matched": 0,
        "unmatched": 0,
        "currency": "SEK",
        "gross": "0.00",
        "fees": "0.00",
        "net": "0.00",
    }
    assert len(again.already) == 1 and "already imported" in again.already[0]
    assert "XISA93DJ" in again.already[0] and "XISB71KQ" in again.already[0]
    assert Payout.objects.count() == 2 and PayoutLine.objects.count() == 10


def test_a_payout_that_comes_again_in_another_file_is_skipped(plus):
    gateway = plus("klarna")
    payout_import(connection=gateway, source=sample("klarna_payout_with_transactions.csv"))
    edited = sample("klarna_payout_with_transactions.csv").read_bytes() + b"\n"
    again = payout_import(connection=gateway, source=edited)

    assert again.as_json()["lines"] == 0 and again.as_json()["payouts"] == 0
    assert again.already == ["Payout K7Q2M9XA was already imported; its lines were skipped."]
    assert PayoutLine.objects.count() == 9
    assert LedgerEvent.objects.filter(action="imported").count() == 1


def test_the_same_payout_for_another_gateway_is_another_payout(plus):
    payout_import(connection=plus("klarna"), source=sample("klarna_payout_with_transactions.csv"))
    payout_import(connection=plus("klarna"), source=sample("klarna_payout_with_transactions.csv"))
    assert Payout.objects.count() == 2


def test_a_file_that_overlaps_an_earlier_import_is_refused_and_names_the_transaction(plus):
    gateway = plus("paypal")
    payout_import(connection=gateway, source=sample("paypal_activity_download_en.csv"))
    overlapping = (
        sample("paypal_activity_download_en.csv").read_text().replace("11/20/2026", "11/21/2026")
    )
    with pytest.raises(ImportRejected) as rejected:
        payout_import(connection=gateway, source=overlapping.encode())
    assert "field 'transaction id': transaction 1AA11111BB2222233 is already in payout" in str(
        rejected.value
    )
    assert "overlaps an earlier import" in str(rejected.value)
    assert Payout.objects.count() == 2  # the first import's two currencies, nothing more
