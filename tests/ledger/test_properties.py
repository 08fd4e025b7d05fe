"""Property-based: random valid files add up; malformed and random files are rejected naming the
row, and leave nothing behind — no payout, line, file record or ledger item, and no voucher."""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import services
from ledger.booking import BookingRefused
from ledger.models import Allocation, ImportedFile, LedgerItem, Payout, PayoutLine, Voucher
from ledger.parsers import ParseError
from ledger.services import ImportRejected, payout_import
from tests import factories
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
SETTINGS = settings(
    max_examples=int(os.environ.get("LEDGER_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
MODELS = (Payout, PayoutLine, ImportedFile, LedgerItem, Allocation, Voucher)
CSV_HEADER = (
    "type;capture_date;sale_date;order_id;short_order_id;capture_id;merchant_reference1;"
    "merchant_reference2;amount;posting_currency;payment_reference;purchase_country;detailed_type"
)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
transactions = st.lists(
    st.tuples(
        st.sampled_from(["SALE", "FEE", "RETURN", "HOLDBACK", "RELEASE"]),
        st.integers(1000, 1100),
        amounts,
    ),
    min_size=1,
    max_size=30,
)


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in MODELS)


_owners = itertools.count(70000)


def _gateway(platform: str = "klarna"):
    # A new merchant per example: every example starts from a gateway with nothing imported.
    owner = factories.customer(organisation_number=factories.organisation_number(next(_owners)))
    return factories.gateway_integration(owner, platform).gateway


@SETTINGS
@given(rows=transactions)
def test_random_klarna_files_add_up_to_what_they_state(db, rows):
    sign = {"SALE": 1, "FEE": -1, "RETURN": -1, "HOLDBACK": -1, "RELEASE": 1}
    settlement = sum(sign[kind] * amount for kind, _order, amount in rows)
    body = "\n".join(
        f"{kind};2026-11-17T09:00:00Z;;k{order};;;{order};;{amount};SEK;RND;SE;"
        for kind, order, amount in rows
    )
    content = (
        "merchant_id;payment_reference;payout_date;currency_code;total_settlement_amount\n"
        f"N1;RND;2026-11-20;SEK;{settlement}\n\n{CSV_HEADER}\n{body}\n"
    )
    gateway = _gateway()
    summary = payout_import(connection=gateway, source=content.encode()).as_json()

    gross = sum(sign[k] * a for k, a in ((k, a) for k, _o, a in rows) if k != "FEE")
    fees = sum(a for k, _o, a in rows if k == "FEE")
    assert summary["lines"] == len(rows)
    assert Decimal(summary["gross"]) == gross and Decimal(summary["fees"]) == fees
    assert Decimal(summary["net"]) == settlement
    payout = Payout.objects.get(connection=gateway)
    assert payout.discrepancy() == 0 and payout.status in ("matched", "review")
    assert summary["matched"] + summary["unmatched"] == sum(
        1 for k, _o, _a in rows if k in ("SALE", "RETURN")
    )


def _mutations(content: bytes):
    lines = content.split(b"\n")
    return st.one_of(
        st.integers(1, max(len(content) - 1, 1)).map(lambda n: content[:n]),
        st.integers(0, len(lines) - 1).map(lambda i: b"\n".join(lines[:i] + lines[i + 1 :])),
        st.tuples(
            st.integers(0, max(len(content) - 1, 0)),
            st.text(alphabet='0123456789abc;,."{}[]-: \n', min_size=1, max_size=6),
        ).map(lambda t: content[: t[0]] + t[1].encode() + content[t[0] + 1 :]),
    )


@pytest.mark.parametrize(
    ("platform", "name"),
    [
        ("klarna", "klarna_payout_with_transactions.csv"),
        ("klarna", "klarna_settlements_api.json"),
        ("stripe", "stripe_payout_reconciliation_itemized.csv"),
        ("paypal", "paypal_settlement.stl.csv"),
        ("paypal", "paypal_statement_sv.csv"),
        ("shopify_payments", "shopify_payments_payout.json"),
    ],
)
def test_malformed_files_are_rejected_naming_the_row_or_imported_whole(db, platform, name):
    content = sample(name).read_bytes()

    @SETTINGS
    @given(mutated=_mutations(content))
    def check(mutated: bytes) -> None:
        gateway = _gateway(platform)
        before = _counts()
        try:
            result = payout_import(connection=gateway, source=mutated)
        except ImportRejected as rejected:
            cause = rejected.__cause__
            assert isinstance(cause, ParseError), rejected
            assert cause.row not in (None, ""), rejected
            assert cause.where in str(rejected)
            assert _counts() == before  # nothing half-imported
            return
        for payout in result.payouts:
            # Whatever got in either adds up, or is a discrepancy that is shown and never booked
            # (a file cut at a line break loses lines without breaking a row).
            assert payout.discrepancy() == 0 or payout.status == Payout.Status.DISCREPANCY
            try:
                voucher = services.payout_book(payout=payout)
            except BookingRefused:
                assert not Voucher.objects.filter(payout=payout).exists()
                continue
            assert payout.discrepancy() == 0
            if voucher is not None:
                assert sum(r.amount for r in voucher.rows.all()) == 0

    check()


@SETTINGS
@given(noise=st.binary(min_size=0, max_size=300))
def test_random_bytes_are_rejected_and_leave_nothing(db, noise):
    gateway = _gateway("paypal")
    before = _counts()
    try:
        payout_import(connection=gateway, source=noise)
    except ImportRejected as rejected:
        assert isinstance(rejected.__cause__, ParseError) and rejected.__cause__.row not in (
            None,
            "",
        )
    assert _counts() == before or Payout.objects.filter(connection=gateway).exists()
