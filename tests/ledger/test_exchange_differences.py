"""A sale in EUR booked at its payout's rate and converted into SEK by PayPal leaves an exchange
difference: a gain on 3960 or a loss on 7960, on the balanced voucher of the SEK payout, shown on
the payout in the admin; without the rate of the EUR side nothing is guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import services
from ledger.booking import BookingRefused
from ledger.models import Payout, Voucher
from tests.ledger.conftest import sample
from tests.ledger.klarna_documents import klarna_document
from tests.ledger.sandbox_setup import clearing_bank_account, failures, gateway_setup, run_payouts

pytestmark = pytest.mark.django_db
D = Decimal
TENANT = "kaffebonan"


@pytest.fixture
def paypal(plus):
    """PayPal's activity download: 76.93 EUR of a sale converted into 880.12 SEK on 2026-11-05."""
    gateway = plus("paypal")
    services.payout_import(connection=gateway, source=sample("paypal_activity_download_en.csv"))
    return gateway


def _payouts(gateway) -> tuple[Payout, Payout]:
    return (
        Payout.objects.get(connection=gateway, currency="SEK"),
        Payout.objects.get(connection=gateway, currency="EUR"),
    )


def _rows(voucher: Voucher) -> dict[str, Decimal]:
    return dict(voucher.rows.values_list("account", "amount"))


def test_a_conversion_above_the_booked_rate_is_a_gain_on_3960(paypal, django_user_model):
    sek, eur = _payouts(paypal)
    staff = django_user_model.objects.create(username="support")
    services.payout_set_exchange_rate(payout=eur, rate=D("11.40"), user=staff)

    rows = _rows(services.payout_book(payout=sek))

    # 76.93 EUR were worth 877.00 SEK at 11.40; PayPal gave 880.12 SEK.
    assert rows["3960"] == D("-3.12")
    assert "7960" not in rows
    assert sum(rows.values()) == 0
    # The bank got the withdrawal; the clearing account takes the gain with the rest.
    assert rows["1930"] == D("1500.00")
    assert rows["1686"] == -(rows["1930"] + rows["6570"] + rows["2645"] + rows["2614"]) + D("3.12")


def test_a_conversion_below_the_booked_rate_is_a_loss_on_7960(paypal, django_user_model):
    sek, eur = _payouts(paypal)
    staff = django_user_model.objects.create(username="support")
    services.payout_set_exchange_rate(payout=eur, rate=D("11.50"), user=staff)

    rows = _rows(services.payout_book(payout=sek))

    # 76.93 EUR were worth 884.70 SEK at 11.50; PayPal gave 880.12 SEK.
    assert rows["7960"] == D("4.58")
    assert "3960" not in rows
    assert sum(rows.values()) == 0


def test_without_the_rate_of_the_euro_side_nothing_is_guessed(paypal):
    sek, eur = _payouts(paypal)
    with pytest.raises(BookingRefused, match=f"set the exchange rate of payout {eur.reference}"):
        services.payout_book(payout=sek)
    assert not Voucher.objects.exists()


def test_the_payout_page_shows_the_exchange_difference(paypal, admin_client, admin_user):
    sek, eur = _payouts(paypal)
    services.payout_set_exchange_rate(payout=eur, rate=D("11.40"), user=admin_user)
    page = admin_client.get(
        reverse("admin:ledger_payout_change", args=[sek.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page.content.decode()
    assert "880.12 SEK for 76.93 EUR booked at 11.400000: gain 3.12 (3960)" in text


def test_the_sie_export_stays_balanced_with_exchange_differences(
    paypal, django_user_model, tmp_path, merchant
):
    sek, eur = _payouts(paypal)
    staff = django_user_model.objects.create(username="support")
    services.payout_set_exchange_rate(payout=eur, rate=D("11.50"), user=staff)
    services.payout_book(payout=sek)
    output = tmp_path / "export.se"
    call_command(
        "export_sie",
        customer=merchant.pk,
        date_from="2026-11-01",
        date_to="2026-11-30",
        output=str(output),
    )
    lines = output.read_bytes().decode("cp437").splitlines()
    amounts = [D(line.split()[3]) for line in lines if line.strip().startswith("#TRANS")]
    assert any(line.strip().startswith("#TRANS 7960") for line in lines)
    assert sum(amounts) == 0


HEADER = (
    '"Date","Time","TimeZone","Type","Status","Currency","Gross","Fee","Net","Transaction ID",'
    '"Reference Txn ID","Invoice Number","Country Code","Balance Impact"'
)


def _conversions_file(count: int) -> bytes:
    """`count` EUR sales, each converted into SEK at once, and one withdrawal of the SEK."""
    rows, withdrawn = [HEADER], D("0.00")
    for n in range(1, count + 1):
        clock = f"{8 + n // 60:02d}:{n % 60:02d}:00"
        rows += [
            f'"11/04/2026","{clock}","CET","Express Checkout Payment","Completed","EUR",'
            f'"10.00","0.00","10.00","S{n:016d}","","{9000 + n}","SE","Credit"',
            f'"11/05/2026","{clock}","CET","General Currency Conversion","Completed","EUR",'
            f'"-10.00","0.00","-10.00","E{n:016d}","","","","Debit"',
            f'"11/05/2026","{clock}","CET","General Currency Conversion","Completed","SEK",'
            f'"{110 + n}.00","0.00","{110 + n}.00","K{n:016d}","","","","Credit"',
        ]
        withdrawn += 110 + n
    rows.append(
        f'"11/06/2026","06:00:00","CET","General Withdrawal","Completed","SEK",'
        f'"-{withdrawn}","0.00","-{withdrawn}","W0000000000000001","","","","Debit"'
    )
    return ("\n".join(rows) + "\n").encode()


def _converted_payout(plus, count: int, user) -> Payout:
    gateway = plus("paypal")
    services.payout_import(connection=gateway, source=_conversions_file(count))
    sek, eur = _payouts(gateway)
    services.payout_set_exchange_rate(payout=eur, rate=D("11.00"), user=user)
    return sek


def test_booking_many_conversions_takes_no_more_queries_than_a_few(
    plus, admin_user, django_assert_max_num_queries
):
    few = _converted_payout(plus, 2, admin_user)
    with CaptureQueriesContext(connection) as queries:
        voucher = services.payout_book(payout=few)
    # 2 × 10 EUR at 11.00 = 220.00 SEK booked; PayPal gave 111 + 112 = 223.00.
    assert _rows(voucher)["3960"] == D("-3.00")

    many = _converted_payout(plus, 150, admin_user)
    with django_assert_max_num_queries(len(queries)):
        voucher = services.payout_book(payout=many)
    assert _rows(voucher)["3960"] == -sum((D(n) for n in range(1, 151)), D("0.00"))


def test_a_sale_in_euros_is_invoiced_in_euros_and_paid_at_the_payouts_rate(
    sandbox, sandbox_server, settings, admin_user
):
    """The invoice is in EUR at Visma's own rate of the invoice date; the payment tells Visma
    what the euros were worth in the clearing account (the payout's rate), so Visma books the
    difference between the two itself."""
    settings.RATE_LIMITS = {"visma": None}
    clearing_bank_account(sandbox_server, TENANT)
    integration = gateway_setup(sandbox, "klarna", TENANT, vat_rate="25")
    services.payout_import(
        connection=integration.gateway,
        source=klarna_document(
            "EUR1",
            [
                ("SALE", "61", 10000, "EUR"),
                ("FEE", "61", 300, "EUR"),
                ("RETURN", "61", 2000, "EUR"),
            ],
        ),
    )
    payout = Payout.objects.get(connection=integration.gateway)
    services.payout_set_exchange_rate(payout=payout, rate=D("11.4825"), user=admin_user)

    job = run_payouts(integration, fetch=False)

    assert failures(job) == []
    company = sandbox.state()["visma"]["companies"][TENANT]
    invoice, credit = company["customerinvoices"]
    amount = "TotalAmountInvoiceCurrency"  # TotalAmount is in SEK, at Visma's rate
    assert (invoice["CurrencyCode"], Decimal(str(invoice[amount]))) == ("EUR", D("100.00"))
    assert (credit["CurrencyCode"], Decimal(str(credit[amount]))) == ("EUR", D("-20.00"))
    customer = next(c for c in company["customers"] if c["Id"] == invoice["CustomerId"])
    assert customer["CurrencyCode"] == "EUR"
    assert customer["CustomerNumber"] == f"KLARNA-{integration.gateway.pk}-EUR"
    payment, settled = company["payments"]
    assert payment["PaymentCurrency"] == "EUR"
    assert Decimal(str(payment["PaymentAmount"])) == D("100.00")
    assert Decimal(str(payment["DomesticPaymentAmount"])) == D("1148.25")
    # The 20.00 EUR paid back settles the credit, worth 229.65 SEK at the payout's rate.
    assert (settled["PaymentCurrency"], Decimal(str(settled["PaymentAmount"]))) == ("EUR", -20)
    assert Decimal(str(settled["DomesticPaymentAmount"])) == D("-229.65")
