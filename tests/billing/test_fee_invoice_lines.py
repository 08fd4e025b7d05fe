"""What a month's fee invoice holds: pro rata monthly fees, the installation fee in the first
month, package changes by day, extra shops, overage and hour packages; VAT 25 % on the sum."""

import datetime
from decimal import Decimal

import pytest

from billing.invoicing import build_invoice, preview_next_invoice
from billing.models import Package
from billing.quota import record_transferred_order
from billing.subscriptions import change_package
from tests import factories

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)


def _lines(invoice) -> list[tuple[str, Decimal]]:
    return [(line.kind, line.amount) for line in invoice.lines]


def test_it_bills_a_mid_month_start_pro_rata_with_the_installation_fee():
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 3, 16))

    invoice = build_invoice(customer, MARCH)

    # 795 × 16/31 = 410.3225… → 410.32
    assert _lines(invoice) == [
        ("installation", Decimal("6400.00")),
        ("monthly_fee", Decimal("410.32")),
    ]
    fee = invoice.lines[1]
    assert fee.explanation == "Pro rata: 795.00 × 16/31 days"
    assert "16 Mar 2026–31 Mar 2026" in fee.description
    assert invoice.subtotal == Decimal("6810.32")
    assert invoice.vat == Decimal("1702.58")
    assert invoice.total == Decimal("8512.90")


def test_it_bills_a_whole_month_without_the_installation_fee_after_the_first_month():
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 16))

    invoice = build_invoice(customer, MARCH)

    assert _lines(invoice) == [("monthly_fee", Decimal("495.00"))]
    assert invoice.lines[0].explanation == "Whole month"
    assert (invoice.vat, invoice.total) == (Decimal("123.75"), Decimal("618.75"))


def test_it_bills_an_upgrade_from_the_day_of_the_change(manager, today):
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 16))
    change_package(customer=customer, package=Package.objects.get(code="400"), user=manager)

    invoice = build_invoice(customer, MARCH)

    # 495 × 15/31 = 239.516… → 239.52; 795 × 16/31 = 410.322… → 410.32; no new installation.
    assert _lines(invoice) == [
        ("monthly_fee", Decimal("239.52")),
        ("monthly_fee", Decimal("410.32")),
    ]
    assert "Paket 200" in invoice.lines[0].description
    assert "Paket 400" in invoice.lines[1].description
    assert invoice.subtotal == Decimal("649.84")


def test_it_bills_a_downgrade_from_the_first_of_next_month(manager, today):
    customer = factories.subscribed_customer("400", start=datetime.date(2026, 1, 1))
    today(datetime.date(2026, 3, 16))
    change_package(customer=customer, package=Package.objects.get(code="100"), user=manager)

    assert _lines(build_invoice(customer, MARCH)) == [("monthly_fee", Decimal("795.00"))]
    april = build_invoice(customer, datetime.date(2026, 4, 1))
    assert _lines(april) == [("monthly_fee", Decimal("295.00"))]
    assert "Paket 100" in april.lines[0].description


def test_it_bills_the_last_month_pro_rata_to_the_end_of_the_contract():
    customer = factories.subscribed_customer(
        "100", start=datetime.date(2026, 1, 1), end_date=datetime.date(2026, 4, 10)
    )
    assert _lines(build_invoice(customer, datetime.date(2026, 4, 1))) == [
        ("monthly_fee", Decimal("98.33"))  # 295 × 10/30 = 98.333…
    ]
    assert build_invoice(customer, datetime.date(2026, 5, 1)).lines == []


def test_it_bills_extra_shops_at_295_per_shop_and_month():
    customer = factories.subscribed_customer("800", start=datetime.date(2026, 1, 1), extra_shops=2)

    invoice = build_invoice(customer, MARCH)

    assert _lines(invoice) == [
        ("monthly_fee", Decimal("1195.00")),
        ("extra_shops", Decimal("590.00")),
    ]
    assert invoice.lines[1].quantity == 2 and invoice.lines[1].unit_price == Decimal("295.00")


def test_it_bills_premium_at_the_quoted_fees():
    customer = factories.subscribed_customer(
        "premium",
        start=datetime.date(2026, 3, 1),
        quoted_monthly_fee=Decimal("2500.00"),
        quoted_installation_fee=Decimal("12000.00"),
        quoted_order_quota=2000,
    )
    assert _lines(build_invoice(customer, MARCH)) == [
        ("installation", Decimal("12000.00")),
        ("monthly_fee", Decimal("2500.00")),
    ]


def test_it_bills_the_orders_over_the_quota(today):
    today(datetime.date(2026, 4, 2))
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    for n in range(207):
        record_transferred_order(
            customer=customer,
            reference=f"WEB-{n}",
            transferred_at=datetime.datetime(2026, 3, 10, 9, tzinfo=datetime.UTC),
        )

    overage = build_invoice(customer, MARCH).lines[-1]

    # 495 / 200 = 2.475 → 2.48 a order; 7 × 2.48 = 17.36
    assert (overage.kind, overage.quantity, overage.unit_price, overage.amount) == (
        "overage",
        Decimal("7"),
        Decimal("2.48"),
        Decimal("17.36"),
    )
    assert overage.explanation == "207 transferred, 200 included: 7 × 2.48"


def test_it_bills_hour_packages_with_their_discount_once():
    customer = factories.subscribed_customer("200", start=datetime.date(2026, 1, 1))
    factories.hour_purchase(
        customer, "10", "9500", discount_percent=Decimal("12.5"), date=datetime.date(2026, 3, 5)
    )
    factories.hour_purchase(customer, "5", "5000", date=datetime.date(2026, 4, 2))

    march = build_invoice(customer, MARCH)

    hours = march.lines[-1]
    assert (hours.kind, hours.amount) == ("hours", Decimal("8312.50"))  # 9500 less 12.5 %
    assert hours.explanation == "List price 9500.00 less 12.5 % discount"
    assert hours.description == "Service hours, 10 h, bought 5 Mar 2026"
    assert [line.kind for line in march.lines].count("hours") == 1  # April's is not in March


def test_it_previews_this_months_invoice_by_default(today):
    today(datetime.date(2026, 3, 20))
    customer = factories.subscribed_customer("100", start=datetime.date(2026, 1, 1))

    preview = preview_next_invoice(customer)

    assert preview.month == MARCH
    assert (preview.subtotal, preview.vat, preview.total) == (
        Decimal("295.00"),
        Decimal("73.75"),
        Decimal("368.75"),
    )
