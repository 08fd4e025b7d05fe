"""Small Klarna Settlements API documents built in a test, for cases the sample files do not
cover. Amounts in minor units, as Klarna sends them; the settlement amount is what they add to."""

from __future__ import annotations

import json

DIRECTION = {"SALE": 1, "RETURN": -1, "REVERSAL": -1, "FEE": -1, "HOLDBACK": -1, "RELEASE": 1}


def klarna_document(
    reference: str, transactions: list[tuple], *, date: str = "2026-11-20"
) -> bytes:
    """transactions: (type, merchant_reference1, amount in öre[, currency[, purchase_country]])."""
    items, settlement = [], 0
    for kind, order, amount, *rest in transactions:
        currency = rest[0] if rest else "SEK"
        country = rest[1] if len(rest) > 1 else "SE"
        settlement += DIRECTION[kind] * amount
        items.append(
            {
                "type": kind,
                "merchant_reference1": order,
                "amount": amount,
                "currency_code": currency,
                "purchase_country": country,
                "capture_date": f"{date}T08:00:00Z",
                "sale_date": f"{date}T08:00:00Z",
                "order_id": f"k-{order}",
                "payment_reference": reference,
            }
        )
    currency = transactions[0][3] if len(transactions[0]) > 3 else "SEK"
    payout = {
        "payment_reference": reference,
        "payout_date": f"{date}T06:00:00Z",
        "currency_code": currency,
        "merchant_settlement_type": "NET",
        "merchant_id": "N1",
        "totals": {"settlement_amount": settlement},
    }
    return json.dumps({"payouts": [payout], "transactions": items}).encode()
