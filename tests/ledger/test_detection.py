"""The format is recognised from the content; --provider narrows it; a file for another gateway
than the connection's is refused before anything is written."""

from __future__ import annotations

import pytest

from ledger.models import ImportedFile, Payout
from ledger.services import ImportRejected, payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db

SAMPLES = [
    ("klarna", "klarna_payout_with_transactions.csv", "klarna_csv"),
    ("klarna", "klarna_settlements_api.json", "klarna_json"),
    ("stripe", "stripe_balance_transactions.json", "stripe_json"),
    ("stripe", "stripe_payout_reconciliation_itemized.csv", "stripe_csv"),
    ("stripe", "stripe_balance_change_from_activity.csv", "stripe_csv"),
    ("paypal", "paypal_transaction_search.json", "paypal_json"),
    ("paypal", "paypal_settlement.stl.csv", "paypal_stl"),
    ("paypal", "paypal_activity_download_en.csv", "paypal_csv"),
    ("paypal", "paypal_statement_sv.csv", "paypal_csv"),
    ("nets", "nets_easy_payouts.json", "nets_json"),
    ("svea", "svea_payment_admin_report.json", "svea_json"),
    ("shopify_payments", "shopify_payments_payout.json", "shopify_payments_json"),
]


@pytest.mark.parametrize(("platform", "name", "expected"), SAMPLES, ids=[s[1] for s in SAMPLES])
def test_it_recognises_every_sample_from_its_content(plus, platform, name, expected):
    gateway = plus(platform)
    assert payout_import(connection=gateway, source=sample(name)).source_format == expected
    assert payout_import(connection=plus(platform), source=sample(name), provider=platform)


def test_a_file_for_another_gateway_is_refused(plus):
    klarna = plus("klarna")
    with pytest.raises(ImportRejected, match="Stripe balance transactions .* Klarna gateway"):
        payout_import(connection=klarna, source=sample("stripe_balance_transactions.json"))
    assert not Payout.objects.exists() and not ImportedFile.objects.exists()


def test_provider_narrows_the_choice(plus):
    with pytest.raises(ImportRejected, match="not a paypal settlement file we recognise"):
        payout_import(
            connection=plus("paypal"),
            source=sample("klarna_payout_with_transactions.csv"),
            provider="paypal",
        )


def test_something_else_entirely_is_refused_with_what_we_read(plus):
    with pytest.raises(ImportRejected, match="We read: Klarna Settlements API"):
        payout_import(connection=plus("klarna"), source=b"hello;world\n1;2\n")
