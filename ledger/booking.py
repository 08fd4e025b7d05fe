"""Booking a payout: the rules that refuse it, and the balanced voucher it becomes.

What a payout is made of goes two ways. The order's money goes through the customer ledger,
written to Visma through its API (ledger/posting.py): a sale is a payment of its invoice
(Dr clearing 1686 / Cr customer receivables 1510); a refund or chargeback is a credit invoice,
settled there by a negative payment from the same clearing account (Dr 1510 / Cr 1686), so it
does not stay open in the customer ledger and is not on the voucher below (it would be booked
twice). Everything else is one voucher per payout, built here, balanced, with the customer's
accounts (BAS 2026 defaults):

    Dr bank (1930)                    what reached the bank
    Dr fees (6570)                    the gateway's fees
    Dr input VAT (2641)               VAT the gateway charged on its fees, if any
    Dr 2645 / Cr 2614                 reverse-charge VAT on fees from abroad (Stripe, PayPal,
                                      Shopify Payments); none for Klarna, Nets and Svea
    Cr 3960 / Dr 7960                 exchange gains and losses on the gateway's currency
                                      conversions (ledger/exchange.py)
    Cr clearing (1686)                the balancing amount

so the clearing account keeps exactly what the gateway still owes (a reserve held back, a debt).
Amounts in another currency are converted with the payout's exchange rate.

DESIGN.md section 3 lists limits the product must enforce and explain: PayPal Plus and Stripe
Plus cannot be used when the merchant sells in several countries (those gateways report no VAT
rates), so such a payout is refused with that explanation rather than booked with a guessed rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from integrator.models import Integration
from ledger.accounts import FOREIGN_FEE_PLATFORMS, AccountPlan
from ledger.exchange import conversions, differences
from ledger.matching import gateway_integration
from ledger.models import Payout, PayoutLine, Row

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LIMITED_PLUS_PLATFORMS = frozenset({"paypal", "stripe"})


class BookingRefused(Exception):
    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind


@dataclass(frozen=True)
class Refusal:
    reason: str
    kind: str  # "discrepancy" | "review" | "limit" | "rate"


def documented_limits(integration: Integration | None) -> list[str]:
    """What this integration cannot do, in the words support staff and the merchant read."""
    if integration is None or integration.flow != Integration.Flow.GATEWAY_PLUS:
        return []
    platform = integration.gateway.platform if integration.gateway else ""
    if platform == "paypal":
        return [
            _(
                "PayPal Plus cannot be used when selling in several countries: PayPal reports no "
                "VAT rates."
            ),
            _("PayPal never gives the organisation number of business customers."),
            _(
                "PayPal sometimes does not say which product was sold: the invoice row then gets a "
                "generic text, and invoices carry no article numbers."
            ),
        ]
    if platform == "stripe":
        return [
            _(
                "Stripe Plus cannot be used when selling in several countries: Stripe reports no "
                "VAT rates."
            ),
            _("Stripe gives the organisation number of business customers only sometimes."),
            _(
                "Stripe does not say which product was sold: the invoice row gets a generic text, "
                "and invoices carry no article numbers."
            ),
        ]
    return []


def countries_sold_to(payout: Payout) -> set[str]:
    return set(
        payout.lines.filter(type__in=PayoutLine.ORDER_TYPES)
        .exclude(country="")
        .values_list("country", flat=True)
        .distinct()
    )


def refusal(payout: Payout, plan: AccountPlan | None = None) -> Refusal | None:
    """Why this payout cannot be booked now, or None when it can."""
    plan = plan or AccountPlan.for_customer(payout.connection.customer)
    difference = payout.discrepancy()
    if difference:
        return Refusal(
            _(
                "The lines add up to %(lines)s, but %(gateway)s says it paid %(net)s. The "
                "difference of %(difference)s must be explained before anything is booked."
            )
            % {
                "lines": payout.net - difference,
                "gateway": payout.connection.get_platform_display(),
                "net": payout.net,
                "difference": difference,
            },
            "discrepancy",
        )
    waiting = payout.lines.filter(match=PayoutLine.Match.UNMATCHED).count()
    if waiting:
        return Refusal(
            _(
                "%(count)s lines wait for review: match them again or mark them handled with a "
                "comment."
            )
            % {"count": waiting},
            "review",
        )
    limit = plus_limit(payout, plan)
    if limit:
        return Refusal(limit, "limit")
    if payout.currency != plan.accounting_currency and not payout.exchange_rate:
        return Refusal(
            _("The payout is in %(currency)s; set its exchange rate to %(home)s before booking.")
            % {"currency": payout.currency, "home": plan.accounting_currency},
            "rate",
        )
    problems = [c.problem() for c in conversions(payout, plan.accounting_currency)]
    if any(problems):
        return Refusal(" ".join(p for p in problems if p), "rate")
    return None


def plus_limit(payout: Payout, plan: AccountPlan) -> str:
    integration = gateway_integration(payout.connection)
    platform = payout.connection.platform
    if (
        integration is None
        or integration.flow != Integration.Flow.GATEWAY_PLUS
        or platform not in LIMITED_PLUS_PLATFORMS
    ):
        return ""
    abroad = sorted(countries_sold_to(payout) - {plan.home_country})
    if not plan.sells_in_several_countries and not abroad:
        return ""
    name = payout.connection.get_platform_display()
    where = (
        _(" (this payout has buyers in %(countries)s)") % {"countries": ", ".join(abroad)}
        if abroad
        else ""
    )
    return _(
        "%(name)s Plus cannot book this payout: the customer sells in several countries%(where)s, "
        "and %(name)s reports no VAT rates, so the VAT of each sale is unknown. We do not guess "
        "rates. Use a webshop integration with %(name)s Basic instead, which takes the rates from "
        "the shop's orders."
    ) % {"name": name, "where": where}


def _converted(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def voucher_rows(payout: Payout, plan: AccountPlan) -> list[Row]:
    """The fees-and-transfer voucher of a payout, balanced; empty when there is nothing to book."""
    name = payout.connection.get_platform_display()
    rate = Decimal(1) if payout.currency == plan.accounting_currency else payout.exchange_rate
    if rate is None:
        raise BookingRefused(_("No exchange rate."), "rate")
    lines = payout.lines.all()
    fees = (
        lines.exclude(type=PayoutLine.Type.FEE_VAT).aggregate(s=Sum("fee"))["s"] or ZERO
    ).quantize(CENT)
    fee_vat = (
        lines.filter(type=PayoutLine.Type.FEE_VAT).aggregate(s=Sum("fee"))["s"] or ZERO
    ).quantize(CENT)
    rows = [
        Row(plan.bank, _converted(payout.transferred(), rate), f"Utbetalning från {name}"),
        Row(plan.fees, _converted(fees, rate), f"Avgifter {name}"),
        Row(plan.fee_input_vat, _converted(fee_vat, rate), f"Moms på avgifter {name}"),
    ]
    if payout.connection.platform in FOREIGN_FEE_PLATFORMS and fees:
        vat = _converted(fees * plan.reverse_charge_rate / 100, rate)
        rows += [
            Row(plan.reverse_charge_input, vat, "Omvänd skattskyldighet, ingående moms"),
            Row(plan.reverse_charge_output, -vat, "Omvänd skattskyldighet, utgående moms"),
        ]
    gains, losses = differences(conversions(payout, plan.accounting_currency))
    rows += [
        Row(plan.exchange_gain, -gains, f"Valutakursvinst växling {name}"),
        Row(plan.exchange_loss, losses, f"Valutakursförlust växling {name}"),
    ]
    rows = [r for r in rows if r.amount]
    if not rows:
        return []
    balance = -sum((r.amount for r in rows), ZERO)
    if balance:
        rows.append(Row(plan.clearing_for(payout.connection.platform), balance, f"Fordran {name}"))
    return rows


def voucher_text(payout: Payout) -> str:
    # The payout reference first: a retry finds the voucher in Visma by it (DESIGN.md section 5).
    return (
        f"{payout.reference} {payout.connection.get_platform_display()}: avgifter och utbetalning"[
            :200
        ]
    )
