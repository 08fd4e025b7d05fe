import datetime
from decimal import Decimal

import pytest

from ledger.models import Row, UnbalancedVoucher, Voucher, VoucherRow
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_saves_a_balanced_voucher_with_all_its_rows():
    customer = factories.customer()
    voucher = Voucher.objects.create_balanced(
        customer=customer,
        date=datetime.date(2026, 11, 20),
        text="Klarna payout 4711",
        rows=[
            Row("1930", Decimal("970.00")),
            Row("6570", Decimal("30.00")),
            Row("1686", Decimal("-1000.00")),
        ],
    )
    assert [(r.account, r.amount) for r in voucher.rows.all()] == [
        ("1930", Decimal("970.00")),
        ("6570", Decimal("30.00")),
        ("1686", Decimal("-1000.00")),
    ]
    assert voucher.total_debit() == Decimal("1000.00")


def test_it_refuses_an_unbalanced_voucher_and_saves_nothing():
    customer = factories.customer()
    with pytest.raises(UnbalancedVoucher, match="0.01"):
        Voucher.objects.create_balanced(
            customer=customer,
            date=datetime.date(2026, 11, 20),
            text="Off by one öre",
            rows=[Row("1930", Decimal("970.00")), Row("1686", Decimal("-969.99"))],
        )
    assert Voucher.objects.count() == 0
    assert VoucherRow.objects.count() == 0


def test_it_refuses_a_row_added_to_a_balanced_voucher_afterwards():
    customer = factories.customer()
    voucher = Voucher.objects.create_balanced(
        customer=customer,
        date=datetime.date(2026, 11, 20),
        text="Balanced",
        rows=[Row("1930", Decimal("10.00")), Row("1686", Decimal("-10.00"))],
    )
    with pytest.raises(UnbalancedVoucher):
        VoucherRow(voucher=voucher, row_no=3, account="3740", amount=Decimal("0.01")).save()
    assert voucher.rows.count() == 2


def test_it_refuses_amounts_with_more_than_two_decimals():
    customer = factories.customer()
    with pytest.raises(Exception, match="two decimals"):
        Voucher.objects.create_balanced(
            customer=customer,
            date=datetime.date(2026, 11, 20),
            text="Fractions",
            rows=[Row("1930", Decimal("10.005")), Row("1686", Decimal("-10.005"))],
        )
    assert Voucher.objects.count() == 0
