"""PayPal: Transaction Search JSON (T-codes), the STL settlement file (RH…FF records, unsigned
minor units with CR/DR) and the account's own CSV downloads in English and Swedish (several
currencies, conversions, holds and releases, withdrawals to the bank)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import Payout, PayoutLine
from ledger.services import ImportRejected, payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
D = Decimal


def _types(payout: Payout) -> list[tuple[str, Decimal]]:
    return list(payout.lines.order_by("line_no").values_list("type", "net"))


def test_transaction_search_gives_one_statement_per_currency_by_t_code(plus):
    gateway = plus("paypal")
    result = payout_import(connection=gateway, source=sample("paypal_transaction_search.json"))

    assert [t["currency"] for t in result.as_json()] == ["SEK", "EUR"]
    sek = Payout.objects.get(connection=gateway, currency="SEK")
    assert sek.reference == "2026-11-01..2026-11-15 SEK"
    # T0006 sale, T1107 refund (PayPal gave part of its fee back), T1110/T1111 dispute hold and
    # its release, T0400 withdrawal; the T1300 authorization and the pending sale move nothing.
    assert _types(sek) == [
        ("sale", D("965.10")),
        ("refund", D("-193.02")),
        ("reserve_hold", D("-150.00")),
        ("reserve_release", D("150.00")),
        ("payout", D("-700.00")),
    ]
    assert (sek.net, sek.bank_amount, sek.fees) == (D("772.08"), D("700.00"), D("27.92"))
    refund = sek.lines.get(type="refund")
    assert refund.related_transaction_id == "5TY05013RG002845M" and refund.fee == D("-6.98")
    eur = Payout.objects.get(connection=gateway, currency="EUR")
    assert eur.lines.get().country == "DE" and eur.bank_amount is None


def test_the_stl_file_reads_unsigned_minor_units_by_their_cr_and_dr(plus):
    gateway = plus("paypal")
    result = payout_import(connection=gateway, source=sample("paypal_settlement.stl.csv"))

    assert result.source_format == "paypal_stl"
    payout = Payout.objects.get(connection=gateway)
    assert payout.reference == "STL XZXSPECIMEN 2026-11-20..2026-11-20 SEK"
    assert _types(payout) == [
        ("sale", D("577.92")),
        ("sale", D("1254.19")),
        ("refund", D("-96.51")),
        ("fee", D("-150.00")),  # T0106, a chargeback processing fee
        ("payout", D("-1000.00")),
    ]
    assert payout.net == D("1585.60") and payout.bank_amount == D("1000.00")


def test_a_truncated_stl_file_is_rejected_by_its_record_counts(plus):
    gateway = plus("paypal")
    content = sample("paypal_settlement.stl.csv").read_bytes()
    truncated = b"\n".join(line for line in content.split(b"\n") if b"678904E" not in line)
    with pytest.raises(ImportRejected, match=r"row 10, field 'SC record count': says 5 body rows"):
        payout_import(connection=gateway, source=truncated)
    without_footer = content.split(b'"RF"')[0]
    with pytest.raises(ImportRejected, match="truncated"):
        payout_import(connection=gateway, source=without_footer)
    assert not Payout.objects.exists()


def test_the_english_activity_download_skips_memos_and_keeps_conversions_holds_and_withdrawals(
    plus,
):
    gateway = plus("paypal")
    result = payout_import(connection=gateway, source=sample("paypal_activity_download_en.csv"))

    sek = Payout.objects.get(connection=gateway, currency="SEK")
    assert sek.reference == "2026-11-03..2026-11-20 SEK"
    assert _types(sek) == [
        ("sale", D("1206.50")),
        ("adjustment", D("880.12")),  # the SEK side of a currency conversion
        ("refund", D("-241.30")),
        ("reserve_hold", D("-300.00")),
        ("reserve_release", D("300.00")),
        ("payout", D("-1500.00")),
        ("sale", D("191.90")),
    ]
    assert sek.bank_amount == D("1500.00") and sek.net == D("2037.22")
    assert sek.lines.get(type="adjustment").match_note == "General Currency Conversion"
    eur = Payout.objects.get(connection=gateway, currency="EUR")
    assert _types(eur) == [("sale", D("76.93")), ("adjustment", D("-76.93"))]
    assert not PayoutLine.objects.filter(transaction_id="7AA11111BB2222233").exists()  # memo
    assert len(result.warnings) == 1 and result.warnings[0].startswith("row 11:")


def test_the_swedish_statement_reads_swedish_headers_and_numbers(plus):
    gateway = plus("paypal")
    result = payout_import(connection=gateway, source=sample("paypal_statement_sv.csv"))

    assert result.source_format == "paypal_csv"
    sek = Payout.objects.get(connection=gateway, currency="SEK")
    assert _types(sek) == [
        ("sale", D("1438.54")),
        ("sale", D("336.38")),
        ("refund", D("-472.89")),
        ("adjustment", D("219.40")),
        ("payout", D("-1000.00")),
    ]
    sale = sek.lines.get(transaction_id="9SV11111AA0000001")
    assert (sale.gross, sale.fee, sale.order_reference) == (D("1490.00"), D("51.46"), "7101")
    assert sek.lines.get(type="refund").related_transaction_id == "9SV11111AA0000001"
