"""The settlement ledger: payouts from payment gateways, their lines, and balanced vouchers."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from billing.models import Customer
from shops.models import Connection

CENT = Decimal("0.01")


class Payout(models.Model):
    """One payout (settlement) from a gateway to the merchant's bank account."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        MATCHED = "matched", _("Matched")
        DISCREPANCY = "discrepancy", _("Discrepancy")
        BOOKED = "booked", _("Booked")

    connection = models.ForeignKey(
        Connection,
        verbose_name=_("gateway"),
        on_delete=models.PROTECT,
        related_name="payouts",
        limit_choices_to={"kind": Connection.Kind.GATEWAY},
    )
    reference = models.CharField(_("payout reference"), max_length=100)
    payout_date = models.DateField(_("payout date"), db_index=True)
    currency = models.CharField(_("currency"), max_length=3, default="SEK")
    gross = models.DecimalField(_("gross"), max_digits=14, decimal_places=2, default=0)
    fees = models.DecimalField(_("fees"), max_digits=14, decimal_places=2, default=0)
    net = models.DecimalField(
        _("net paid out"), max_digits=14, decimal_places=2, help_text=_("As the gateway states it.")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IMPORTED, db_index=True
    )
    source_name = models.CharField(_("source file"), max_length=255, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        ordering = ["-payout_date", "-pk"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "reference"], name="one_payout_per_gateway_reference"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection.get_platform_display()} {self.reference}"

    @property
    def customer(self) -> Customer:
        return self.connection.customer

    def lines_net(self) -> Decimal:
        return self.lines.aggregate(s=Sum("net"))["s"] or Decimal("0.00")

    def discrepancy(self) -> Decimal:
        """What the lines do not explain of the stated net amount; never booked silently."""
        return self.net - self.lines_net()


class PayoutLine(models.Model):
    class Type(models.TextChoices):
        SALE = "sale", _("Sale")
        REFUND = "refund", _("Refund")
        FEE = "fee", _("Fee")
        FEE_VAT = "fee_vat", _("Fee VAT")
        CHARGEBACK = "chargeback", _("Chargeback / dispute")
        DISPUTE_REVERSAL = "dispute_reversal", _("Dispute reversal")
        ADJUSTMENT = "adjustment", _("Adjustment")
        RESERVE_HOLD = "reserve_hold", _("Reserve hold")
        RESERVE_RELEASE = "reserve_release", _("Reserve release")
        PAYOUT = "payout", _("Payout")
        DEBT = "debt", _("Debt carried over")

    class Match(models.TextChoices):
        UNMATCHED = "unmatched", _("Unmatched")
        MATCHED = "matched", _("Matched")
        HANDLED = "handled", _("Handled by hand")

    payout = models.ForeignKey(
        Payout, verbose_name=_("payout"), on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveIntegerField(_("row"))
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    transaction_id = models.CharField(_("transaction id"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("time"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    # Money to the merchant is positive; fees are a positive cost.
    gross = models.DecimalField(_("gross"), max_digits=14, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=14, decimal_places=2, default=0)
    net = models.DecimalField(_("net"), max_digits=14, decimal_places=2)
    match = models.CharField(
        _("match"), max_length=10, choices=Match.choices, default=Match.UNMATCHED, db_index=True
    )
    match_note = models.CharField(_("note"), max_length=500, blank=True)
    raw = models.JSONField(_("source row"), help_text=_("The row exactly as the gateway gave it."))

    class Meta:
        ordering = ["payout", "line_no"]
        verbose_name = _("payout line")
        verbose_name_plural = _("payout lines")
        constraints = [
            models.UniqueConstraint(fields=["payout", "line_no"], name="one_line_per_row")
        ]

    def __str__(self) -> str:
        return f"{self.payout} #{self.line_no} {self.get_type_display()} {self.net}"

    @property
    def breaks_own_arithmetic(self) -> bool:
        return self.gross - self.fee != self.net


class UnbalancedVoucher(ValidationError):
    pass


@dataclass(frozen=True)
class Row:
    """One row of a voucher to be: positive amount is debit, negative is credit (as in SIE)."""

    account: str
    amount: Decimal
    text: str = ""


class VoucherQuerySet(models.QuerySet["Voucher"]):
    def create_balanced(
        self,
        *,
        customer: Customer,
        date: datetime.date,
        text: str,
        rows: Iterable[Row],
        payout: Payout | None = None,
        series: str = "A",
    ) -> Voucher:
        """The only way to make a voucher: all rows at once, and only if they sum to zero."""
        rows = list(rows)
        errors = [
            f"row {i}: amount {r.amount} has more than two decimals"
            for i, r in enumerate(rows, start=1)
            if Decimal(r.amount).quantize(CENT) != r.amount
        ]
        if errors:
            raise ValidationError(errors)
        if len(rows) < 2:
            raise UnbalancedVoucher(_("A voucher needs at least two rows."))
        total = sum((r.amount for r in rows), Decimal("0.00"))
        if total != 0:
            raise UnbalancedVoucher(
                _("The voucher does not balance: debit and credit differ by %(total)s."),
                params={"total": total},
            )
        with transaction.atomic():
            voucher = self.create(
                customer=customer, date=date, text=text, payout=payout, series=series
            )
            VoucherRow.objects.bulk_create(
                VoucherRow(voucher=voucher, row_no=i, account=r.account, amount=r.amount, text=r.text)
                for i, r in enumerate(rows, start=1)
            )
        return voucher


class Voucher(models.Model):
    """A balanced accounting entry (verifikation). Rows are fixed once it exists."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Not yet posted")
        POSTED = "posted", _("Posted to the accounting system")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="vouchers"
    )
    series = models.CharField(_("series"), max_length=5, default="A")
    date = models.DateField(_("date"), db_index=True)
    text = models.CharField(_("text"), max_length=200)
    payout = models.ForeignKey(
        Payout,
        verbose_name=_("payout"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vouchers",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    remote_id = models.CharField(_("id in the accounting system"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = VoucherQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")

    def __str__(self) -> str:
        return f"{self.series}{self.pk} {self.date} {self.text}"

    def total_debit(self) -> Decimal:
        return self.rows.filter(amount__gt=0).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")


class VoucherRow(models.Model):
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="rows")
    row_no = models.PositiveSmallIntegerField(_("row"))
    account = models.CharField(_("account"), max_length=10)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, help_text=_("Debit positive, credit negative.")
    )
    text = models.CharField(_("text"), max_length=200, blank=True)

    class Meta:
        ordering = ["voucher", "row_no"]
        verbose_name = _("voucher row")
        verbose_name_plural = _("voucher rows")

    def __str__(self) -> str:
        return f"{self.account} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Rows are only written together with their voucher (Voucher.objects.create_balanced,
        # which uses bulk_create); saving one row alone would unbalance a balanced voucher.
        raise UnbalancedVoucher(_("Voucher rows cannot be added or changed one by one."))

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else Decimal("0.00")

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else Decimal("0.00")
