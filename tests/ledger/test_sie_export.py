"""`export_sie`: the customer's vouchers of a period as SIE 4I — CP437 with #FORMAT PC8, the
identification records, the accounts used, and one balanced #VER per voucher."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from ledger import services
from ledger.models import Payout, Row, Voucher
from ledger.services import payout_import
from tests import factories
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db


def _export(
    tmp_path, customer, date_from="2026-11-01", date_to="2026-11-30"
) -> tuple[bytes, list[str]]:
    output = tmp_path / "export.se"
    call_command(
        "export_sie", customer=customer.pk, date_from=date_from, date_to=date_to, output=str(output)
    )
    content = output.read_bytes()
    return content, content.decode("cp437").split("\r\n")


def test_it_exports_the_booked_payouts_as_sie_4i(plus, merchant, tmp_path):
    for platform, name in (
        ("klarna", "klarna_payout_with_transactions.csv"),
        ("stripe", "stripe_balance_transactions.json"),
    ):
        payout_import(connection=plus(platform), source=sample(name))
    for payout in Payout.objects.all():
        services.payout_book(payout=payout)

    content, lines = _export(tmp_path, merchant)

    assert lines[:5] == [
        "#FLAGGA 0",
        '#PROGRAM "Integrator" "1.0"',
        "#FORMAT PC8",
        lines[3],
        "#SIETYP 4",
    ]
    assert lines[3].startswith("#GEN ")
    assert f"#ORGNR {merchant.organisation_number}" in lines
    assert (
        '#FNAMN "Kaffebönan AB"' in lines and "Kaffeb\x94nan".encode("latin-1") in content
    )  # ö in CP437
    assert "#RAR 0 20260101 20261231" in lines
    assert '#KONTO 1686 "Fordringar på betaltjänstleverantörer"' in lines
    assert lines.count("{") == 2 and lines.count("}") == 2
    klarna = Voucher.objects.get(payout__reference="K7Q2M9XA")
    start = lines.index(
        f'#VER "A" "{klarna.pk}" 20261120 "K7Q2M9XA Klarna: avgifter och utbetalning" '
        f"{klarna.created_at:%Y%m%d}"
    )
    assert lines[start + 1 : start + 6] == [
        "{",
        '   #TRANS 1930 {} 1780.83 "" "Utbetalning från Klarna"',
        '   #TRANS 6570 {} 56.17 "" "Avgifter Klarna"',
        '   #TRANS 1686 {} -1837.00 "" "Fordran Klarna"',
        "}",
    ]
    assert content.endswith(b"}\r\n")


def test_every_ver_balances_and_only_the_period_and_customer_are_there(merchant, tmp_path):
    other = factories.customer(name="Annan AB")
    for owner, day in ((merchant, 3), (merchant, 28), (merchant, 1), (other, 10)):
        Voucher.objects.create_balanced(
            customer=owner,
            date=datetime.date(2026, 12 if day == 1 else 11, day),
            text=f'Test "{day}"',
            rows=[
                Row("1930", Decimal("10.00")),
                Row("6570", Decimal("2.50")),
                Row("1686", Decimal("-12.50")),
            ],
        )
    _content, lines = _export(tmp_path, merchant)
    vers = [line for line in lines if line.startswith("#VER")]
    assert len(vers) == 2 and '"Test \\"3\\""' in vers[0]
    amounts = [Decimal(line.split()[3]) for line in lines if line.strip().startswith("#TRANS")]
    assert sum(amounts) == 0 and len(amounts) == 6


def test_it_refuses_a_period_that_ends_before_it_starts(merchant, tmp_path):
    with pytest.raises(CommandError, match="--from is after --to"):
        _export(tmp_path, merchant, "2026-12-01", "2026-11-01")
