"""Demo payouts for seed_demo: one Klarna payout with its lines and balanced vouchers."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from billing.models import Customer
from ledger.models import Payout, PayoutLine, Row, Voucher
from shops.models import Connection

SALES = [
    # order number, gross, fee
    ("1001", Decimal("499.00"), Decimal("14.47")),
    ("1002", Decimal("1249.00"), Decimal("36.22")),
    ("1003", Decimal("189.00"), Decimal("5.48")),
]
REFUND = ("0998", Decimal("-249.00"))


@transaction.atomic
def seed_demo_payouts(*, customer: Customer, gateway: Connection) -> Payout:
    reference = "KLARNA-DEMO-2026-11-20"
    existing = Payout.objects.filter(connection=gateway, reference=reference).first()
    if existing:
        return existing
    lines = [
        (PayoutLine.Type.SALE, number, gross, fee) for number, gross, fee in SALES
    ] + [(PayoutLine.Type.REFUND, REFUND[0], REFUND[1], Decimal("0.00"))]
    gross = sum((g for _t, _n, g, _f in lines), Decimal("0.00"))
    fees = sum((f for _t, _n, _g, f in lines), Decimal("0.00"))
    payout = Payout.objects.create(
        connection=gateway,
        reference=reference,
        payout_date=datetime.date(2026, 11, 20),
        currency="SEK",
        gross=gross,
        fees=fees,
        net=gross - fees,
        status=Payout.Status.MATCHED,
        source_name="demo",
    )
    PayoutLine.objects.bulk_create(
        PayoutLine(
            payout=payout,
            line_no=i,
            type=line_type,
            order_reference=number,
            currency="SEK",
            gross=g,
            fee=f,
            net=g - f,
            match=PayoutLine.Match.MATCHED,
            raw={"merchant_reference1": number, "amount": int(g * 100), "type": line_type.upper()},
        )
        for i, (line_type, number, g, f) in enumerate(lines, start=1)
    )
    # The fees and the transfer from Klarna's clearing account (1686) to the bank (1930).
    Voucher.objects.create_balanced(
        customer=customer,
        date=payout.payout_date,
        text=f"{reference} avgifter och utbetalning",
        payout=payout,
        rows=[
            Row("1930", payout.net, "Utbetalning Klarna"),
            Row("6570", fees, "Klarna avgifter"),
            Row("1686", -gross, "Klarna fordran"),
        ],
    )
    return payout
