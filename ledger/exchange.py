"""Exchange differences on currency conversions at the gateway (PayPal, and Stripe when it
converts a balance).

A sale in EUR reaches the clearing account (1686) valued at the rate its payout was booked at
(the EUR payout's exchange rate, set by a person); when the gateway later converts
those euros into SEK, the SEK it gives is what the money is really worth. The conversion moves
the money within the clearing account, so the only thing left to book is the difference:

    difference = SEK received + EUR given × the EUR payout's rate      (signs as on the lines)

a gain (Cr 3960) when positive, a loss (Dr 7960) when negative, on the voucher of the payout in
the accounting currency, balanced against the clearing account. A conversion the other way (SEK
into EUR, e.g. to pay a refund in EUR) follows the same sum.

Both sides of a conversion are lines of their own, one in each currency's payout: PayPal's
activity download and Transaction Search give them as "General Currency Conversion" rows (event
code T02nn) at the same moment. A conversion whose other side is not imported, or whose foreign
payout has no rate yet, stops the booking with that reason: the difference is never guessed.

Two differences, each booked once. Between the invoice and the payout: the EUR invoice is in EUR
at Visma's own rate of the invoice date, and its payment tells Visma what the euros were worth
in the clearing account (DomesticPaymentAmount, at the payout's rate), so Visma books that
difference itself on 3960/7960 (ledger/posting.py). Between the payout and the conversion: this
module, on the payout's voucher.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from ledger.models import Payout, PayoutLine

CENT = Decimal("0.01")
CONVERSION_WORDS = ("currency conversion", "valutaomräkning", "valutakonvertering")
CONVERSION_CODE_PREFIX = "T02"  # PayPal's event codes for currency conversions


def is_conversion(raw: Any) -> bool:
    """Whether a PayPal row (activity download or Transaction Search) is a currency conversion."""
    if not isinstance(raw, dict):
        return False
    info = raw.get("transaction_info") if isinstance(raw.get("transaction_info"), dict) else raw
    for key in ("transaction_event_code", "Transaction Event Code", "Transaktionshändelsekod"):
        if str(info.get(key) or "").upper().startswith(CONVERSION_CODE_PREFIX):
            return True
    described = " ".join(str(raw.get(k) or "") for k in ("Type", "Typ", "Beskrivning"))
    return any(word in described.lower() for word in CONVERSION_WORDS)


@dataclass(frozen=True)
class Conversion:
    home: PayoutLine  # the side in the accounting currency (this payout)
    foreign: PayoutLine | None  # the other side, in its own payout; None: not imported

    @property
    def rate(self) -> Decimal | None:
        return self.foreign.payout.exchange_rate if self.foreign is not None else None

    @property
    def difference(self) -> Decimal | None:
        """Gain positive, loss negative; None while the foreign side's value is unknown."""
        if self.foreign is None or self.rate is None:
            return None
        booked = (self.foreign.gross * self.rate).quantize(CENT, rounding=ROUND_HALF_UP)
        return self.home.gross + booked

    def problem(self) -> str:
        if self.foreign is None:
            return _(
                "The currency conversion of %(amount)s %(currency)s on %(date)s has no other side "
                "among the imported payouts: import the gateway's payout in the other currency "
                "(the same file holds it) so its exchange difference can be booked."
            ) % {
                "amount": self.home.gross,
                "currency": self.home.currency,
                "date": self.home.occurred_at.date() if self.home.occurred_at else "",
            }
        if self.rate is None:
            return _(
                "The currency conversion on %(date)s gives %(home)s %(home_currency)s for "
                "%(foreign)s %(currency)s: set the exchange rate of payout %(reference)s (the rate "
                "its sales were booked at) so the exchange difference can be booked."
            ) % {
                "date": self.home.occurred_at.date() if self.home.occurred_at else "",
                "home": self.home.gross,
                "home_currency": self.home.currency,
                "foreign": self.foreign.gross,
                "currency": self.foreign.currency,
                "reference": self.foreign.payout.reference,
            }
        return ""


def conversions(payout: Payout, accounting_currency: str) -> list[Conversion]:
    """The currency conversions of a payout in the accounting currency, each with its other
    side; two queries whatever the number of lines."""
    if payout.currency != accounting_currency:
        return []
    home = [
        line
        for line in payout.lines.filter(type=PayoutLine.Type.ADJUSTMENT).order_by("line_no")
        if is_conversion(line.raw)
    ]
    if not home:
        return []
    candidates = [
        line
        for line in PayoutLine.objects.filter(
            payout__connection_id=payout.connection_id,
            type=PayoutLine.Type.ADJUSTMENT,
            occurred_at__in={line.occurred_at for line in home},
        )
        .exclude(currency=accounting_currency)
        .select_related("payout")
        .order_by("pk")
        if is_conversion(line.raw)
    ]
    found, used = [], set()
    for line in home:
        other = next(
            (
                c
                for c in candidates
                if c.pk not in used
                and c.occurred_at == line.occurred_at
                and (c.gross < 0) != (line.gross < 0)
            ),
            None,
        )
        if other is not None:
            used.add(other.pk)
        found.append(Conversion(line, other))
    return found


def differences(found: list[Conversion]) -> tuple[Decimal, Decimal]:
    """(gains, losses) of the conversions, both positive amounts."""
    amounts = [c.difference for c in found if c.difference is not None]
    gains = sum((a for a in amounts if a > 0), Decimal("0.00"))
    losses = -sum((a for a in amounts if a < 0), Decimal("0.00"))
    return gains, losses
