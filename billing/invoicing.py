"""Fee invoices: what we bill a customer for one month, with every line explained.

A month's invoice holds the monthly fee of each package period in the month (pro rata by day:
a mid-month start, an upgrade, an end), the installation fee in the contract's first month,
extra shops, the orders over the quota, and the hour packages bought and not yet billed.
Each line is rounded to öre (half up); VAT 25 % is computed on the sum and shown separately.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from billing import quota, subscriptions
from billing.models import (
    EXTRA_SHOP_FEE,
    VAT_RATE,
    Customer,
    FeeInvoice,
    FeeInvoiceLine,
    HourPurchase,
    Subscription,
    first_of_month,
    last_of_month,
    to_ore,
)

Kind = FeeInvoiceLine.Kind


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    explanation: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass
class InvoicePreview:
    customer: Customer
    month: datetime.date
    lines: list[Line] = field(default_factory=list)
    hour_purchases: list[HourPurchase] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return to_ore(self.subtotal * VAT_RATE)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.vat


def _sek(value: Decimal) -> str:
    return number_format(value, 2)


def _day(value: datetime.date) -> str:
    return date_format(value, "j M Y")


def _period_text(start: datetime.date, end: datetime.date) -> str:
    return _("%(start)s–%(end)s") % {"start": _day(start), "end": _day(end)}


def _pro_rata(fee: Decimal, days: int, days_in_month: int) -> tuple[Decimal, str]:
    """The fee for `days` of the month, and how it was calculated."""
    if days == days_in_month:
        return to_ore(fee), _("Whole month")
    amount = to_ore(fee * days / days_in_month)
    return amount, _("Pro rata: %(fee)s × %(days)d/%(month_days)d days") % {
        "fee": _sek(fee),
        "days": days,
        "month_days": days_in_month,
    }


def _subscription_lines(subscription: Subscription, month: datetime.date) -> list[Line]:
    first, last = first_of_month(month), last_of_month(month)
    covered = subscription.days_in(first, last)
    if covered is None:
        return []
    start, end = covered
    days, days_in_month = (end - start).days + 1, last.day
    period = _period_text(start, end)
    lines = []
    installation = subscription.installation_fee
    if subscription.is_contract_start and first <= subscription.start_date <= last and installation:
        lines.append(
            Line(
                Kind.INSTALLATION,
                _("Installation, %(package)s") % {"package": subscription.package},
                _("Once, when the contract starts on %(day)s")
                % {"day": _day(subscription.start_date)},
                Decimal(1),
                installation,
                to_ore(installation),
            )
        )
    fee = subscription.monthly_fee
    if fee:
        amount, how = _pro_rata(fee, days, days_in_month)
        lines.append(
            Line(
                Kind.MONTHLY_FEE,
                _("Monthly fee, %(package)s, %(period)s")
                % {"package": subscription.package, "period": period},
                how,
                _months(days, days_in_month),
                fee,
                amount,
            )
        )
    if subscription.extra_shops and subscription.package.multishop:
        shops_fee = EXTRA_SHOP_FEE * subscription.extra_shops
        amount, how = _pro_rata(shops_fee, days, days_in_month)
        lines.append(
            Line(
                Kind.EXTRA_SHOPS,
                _("Extra shops, %(count)d × %(fee)s, %(period)s")
                % {
                    "count": subscription.extra_shops,
                    "fee": _sek(EXTRA_SHOP_FEE),
                    "period": period,
                },
                how,
                Decimal(subscription.extra_shops),
                EXTRA_SHOP_FEE,
                amount,
            )
        )
    return lines


def _months(days: int, days_in_month: int) -> Decimal:
    """The quantity of a monthly line: the share of the month, to two decimals (the amount is
    calculated from the days, not from this rounded share)."""
    return (Decimal(days) / days_in_month).quantize(Decimal("0.01"))


def _overage_line(
    customer: Customer, month: datetime.date, periods: list[Subscription]
) -> list[Line]:
    usage = quota.month_usage(customer, month)
    measured_on = quota.quota_for(periods, month)
    if not usage.overage or measured_on is None or measured_on.overage_unit_price is None:
        return []
    price = measured_on.overage_unit_price
    return [
        Line(
            Kind.OVERAGE,
            _("Orders over the quota, %(month)s") % {"month": date_format(month, "F Y")},
            _("%(used)d transferred, %(quota)d included: %(over)d × %(price)s")
            % {
                "used": usage.used,
                "quota": usage.quota,
                "over": usage.overage,
                "price": _sek(price),
            },
            Decimal(usage.overage),
            price,
            to_ore(price * usage.overage),
        )
    ]


def _hour_lines(purchases: list[HourPurchase]) -> list[Line]:
    lines = []
    for purchase in purchases:
        if purchase.discount_percent:
            how = _("List price %(price)s less %(discount)s %% discount") % {
                "price": _sek(purchase.price),
                "discount": number_format(purchase.discount_percent.normalize()),
            }
        else:
            how = _("List price")
        lines.append(
            Line(
                Kind.HOURS,
                _("Service hours, %(hours)s h, bought %(day)s")
                % {"hours": number_format(purchase.hours.normalize()), "day": _day(purchase.date)},
                how,
                purchase.hours,
                to_ore(purchase.amount / purchase.hours),
                purchase.amount,
            )
        )
    return lines


def build_invoice(customer: Customer, month: datetime.date) -> InvoicePreview:
    """Every line of the customer's invoice for `month`, without saving anything."""
    month = first_of_month(month)
    periods = subscriptions.in_month(customer, month)
    purchases = list(
        HourPurchase.objects.filter(
            customer=customer, invoice__isnull=True, date__lte=last_of_month(month)
        ).order_by("date", "pk")
    )
    preview = InvoicePreview(customer=customer, month=month, hour_purchases=purchases)
    for subscription in periods:
        preview.lines.extend(_subscription_lines(subscription, month))
    preview.lines.extend(_overage_line(customer, month, periods))
    preview.lines.extend(_hour_lines(purchases))
    order = list(Kind.values)
    preview.lines.sort(key=lambda line: order.index(line.kind))
    return preview


def preview_next_invoice(customer: Customer, month: datetime.date | None = None) -> InvoicePreview:
    """The invoice the billing run will create for `month` (default: this month), as it stands
    now: lines and totals, nothing saved."""
    return build_invoice(customer, month or timezone.localdate())


def invoice_number(customer: Customer, month: datetime.date) -> str:
    return f"F{month:%Y%m}-{customer.pk:05d}"


def create_invoice(customer: Customer, month: datetime.date) -> tuple[FeeInvoice | None, bool]:
    """The customer's invoice for the month: created once, found on every later run.
    Returns (invoice or None when there is nothing to bill, created)."""
    month = first_of_month(month)
    existing = FeeInvoice.objects.filter(customer=customer, month=month).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            preview = build_invoice(customer, month)
            if not preview.lines:
                return None, False
            invoice = FeeInvoice.objects.create(
                customer=customer,
                month=month,
                number=invoice_number(customer, month),
                subtotal=preview.subtotal,
                vat=preview.vat,
                total=preview.total,
            )
            FeeInvoiceLine.objects.bulk_create(
                FeeInvoiceLine(
                    invoice=invoice,
                    position=position,
                    kind=line.kind,
                    description=line.description,
                    explanation=line.explanation,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
                for position, line in enumerate(preview.lines, start=1)
            )
            HourPurchase.objects.filter(
                pk__in=[purchase.pk for purchase in preview.hour_purchases], invoice__isnull=True
            ).update(invoice=invoice)
    except IntegrityError:
        # Another run created it between our look and our insert: theirs is the invoice.
        return FeeInvoice.objects.get(customer=customer, month=month), False
    return invoice, True


def customers_to_bill(month: datetime.date) -> list[Customer]:
    first, last = first_of_month(month), last_of_month(month)
    running = Q(subscriptions__start_date__lte=last) & (
        Q(subscriptions__end_date__isnull=True) | Q(subscriptions__end_date__gte=first)
    )
    bought = Q(hour_purchases__invoice__isnull=True, hour_purchases__date__lte=last)
    return list(Customer.objects.filter(running | bought).distinct().order_by("name", "pk"))


def run_month(month: datetime.date) -> list[tuple[Customer, FeeInvoice | None, bool]]:
    """Invoice every customer with something to bill in the month; safe to run again."""
    return [(customer, *create_invoice(customer, month)) for customer in customers_to_bill(month)]
