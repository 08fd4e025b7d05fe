"""The settlement ledger: payouts from payment gateways, their lines, the customer-ledger items
they pay, balanced vouchers, and the audit trail of what people did to them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from billing.models import Customer
from integrator.models import Link
from ledger.accounts import AccountPlan  # noqa: F401  (a model: registered through this module)
from shops.models import Connection

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class ImportedFile(models.Model):
    """One file (or one API fetch) that was imported: its hash makes a repeated import a no-op."""

    connection = models.ForeignKey(
        Connection, verbose_name=_("gateway"), on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    name = models.CharField(_("file name"), max_length=255, blank=True)
    source_format = models.CharField(_("format"), max_length=30)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        ordering = ["-imported_at"]
        verbose_name = _("imported settlement file")
        verbose_name_plural = _("imported settlement files")
        constraints = [
            models.UniqueConstraint(fields=["connection", "sha256"], name="one_import_per_file")
        ]

    def __str__(self) -> str:
        return self.name or self.sha256[:12]


class Payout(models.Model):
    """One payout (settlement) from a gateway to the merchant's bank account. For PayPal, whose
    money stays on a balance until it is withdrawn, one statement period in one currency."""

    class Status(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        MATCHED = "matched", _("Matched")
        REVIEW = "review", _("Lines wait for review")
        DISCREPANCY = "discrepancy", _("Discrepancy")
        REFUSED = "refused", _("Booking refused")
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
    bank_amount = models.DecimalField(
        _("transferred to the bank"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the net amount. PayPal: the withdrawals in the period."),
    )
    exchange_rate = models.DecimalField(
        _("exchange rate to the accounting currency"),
        max_digits=14,
        decimal_places=6,
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IMPORTED, db_index=True
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    source_name = models.CharField(_("source file"), max_length=255, blank=True)
    source_format = models.CharField(_("format"), max_length=30, blank=True)
    imported_file = models.ForeignKey(
        ImportedFile,
        verbose_name=_("imported file"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payouts",
    )
    raw = models.JSONField(_("source"), default=dict, blank=True)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)

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
        """What the lines add up to. Withdrawals to the bank (type payout) are the transfer
        itself, not something the payout is made of."""
        total = self.lines.exclude(type="payout").aggregate(s=Sum("net"))["s"] or ZERO
        return total.quantize(CENT)

    def discrepancy(self) -> Decimal:
        """What the lines do not explain of the stated net amount; never booked silently."""
        return self.net - self.lines_net()

    def transferred(self) -> Decimal:
        return self.net if self.bank_amount is None else self.bank_amount

    def totals_by_type(self) -> list[dict[str, Any]]:
        return list(
            self.lines.values("type")
            .annotate(
                count=models.Count("pk"),
                gross_sum=Sum("gross"),
                fee_sum=Sum("fee"),
                net_sum=Sum("net"),
            )
            .order_by("type")
        )


class LedgerItem(models.Model):
    """An order as the customer ledger (kundreskontra) knows it: the invoice that payout lines
    pay. For Basic/Pay it is the invoice the webshop integration already made (through its link);
    for Plus it is one invoice per order that booking will create."""

    class Kind(models.TextChoices):
        EXISTING_INVOICE = "existing", _("Invoice the webshop integration made")
        NEW_INVOICE = "new", _("Invoice to create from the gateway (Plus)")

    class State(models.TextChoices):
        PENDING = "pending", _("Not yet booked")
        BOOKED = "booked", _("Booked in the accounting system")

    connection = models.ForeignKey(
        Connection, verbose_name=_("gateway"), on_delete=models.PROTECT, related_name="+"
    )
    order_reference = models.CharField(_("order"), max_length=100)
    natural_key = models.CharField(
        _("natural key"), max_length=100, help_text=_("YourReference the invoice is found by.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    link = models.ForeignKey(
        Link, verbose_name=_("order link"), on_delete=models.PROTECT, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    remote_id = models.CharField(_("id in the accounting system"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["connection", "order_reference"]
        verbose_name = _("customer-ledger item")
        verbose_name_plural = _("customer-ledger items")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "order_reference"], name="one_ledger_item_per_order"
            )
        ]

    def __str__(self) -> str:
        return self.natural_key


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

    # Lines that move money for an order: they go through the customer ledger and need one.
    ORDER_TYPES = (Type.SALE, Type.REFUND, Type.CHARGEBACK, Type.DISPUTE_REVERSAL)

    class Match(models.TextChoices):
        UNMATCHED = "unmatched", _("Unmatched")
        MATCHED = "matched", _("Matched")
        HANDLED = "handled", _("Handled by hand")
        NOT_NEEDED = "no_order", _("No order needed")

    payout = models.ForeignKey(
        Payout, verbose_name=_("payout"), on_delete=models.CASCADE, related_name="lines"
    )
    line_no = models.PositiveIntegerField(_("row"))
    type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    order_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    source_order_id = models.CharField(
        _("order id in the shop"), max_length=100, blank=True, help_text=_("e.g. Shopify's own id")
    )
    transaction_id = models.CharField(_("transaction id"), max_length=100, blank=True)
    related_transaction_id = models.CharField(
        _("related transaction"), max_length=100, blank=True, help_text=_("e.g. the refunded sale")
    )
    occurred_at = models.DateTimeField(_("time"), null=True, blank=True)
    country = models.CharField(_("buyer country"), max_length=2, blank=True)
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
    ledger_items = models.ManyToManyField(
        LedgerItem, through="Allocation", related_name="lines", blank=True
    )

    class Meta:
        ordering = ["payout", "line_no"]
        verbose_name = _("payout line")
        verbose_name_plural = _("payout lines")
        constraints = [
            models.UniqueConstraint(fields=["payout", "line_no"], name="one_line_per_row")
        ]
        indexes = [models.Index(fields=["transaction_id"], name="ledger_line_transaction")]

    def __str__(self) -> str:
        return f"{self.payout} #{self.line_no} {self.get_type_display()} {self.net}"

    @property
    def breaks_own_arithmetic(self) -> bool:
        return self.gross - self.fee != self.net


def arithmetic_broken() -> Q:
    """Lines where the provider's own figures do not add up (net ≠ gross − fee)."""
    return ~Q(net=models.F("gross") - models.F("fee"))


class Allocation(models.Model):
    """How much of one payout line pays one customer-ledger item, and whether that payment is
    booked (one payment per line and order, exactly once)."""

    line = models.ForeignKey(PayoutLine, on_delete=models.CASCADE, related_name="allocations")
    item = models.ForeignKey(LedgerItem, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: split by the invoices' remaining amounts when booked."),
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=LedgerItem.State.choices,
        default=LedgerItem.State.PENDING,
    )
    remote_id = models.CharField(
        _("payment id in the accounting system"), max_length=100, blank=True
    )

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.UniqueConstraint(
                fields=["line", "item"], name="one_allocation_per_line_and_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_id} → {self.item}"


class LedgerEvent(models.Model):
    """The audit trail: who did what to a payout or line, and when (re-match, book, handled)."""

    class Action(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        MATCHED = "matched", _("Matched again")
        BOOKED = "booked", _("Booked")
        REFUSED = "refused", _("Booking refused")
        HANDLED = "handled", _("Line marked handled")
        RATE = "rate", _("Exchange rate set")

    payout = models.ForeignKey(
        Payout, verbose_name=_("payout"), on_delete=models.CASCADE, related_name="events"
    )
    line = models.ForeignKey(
        PayoutLine,
        verbose_name=_("line"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ledger event")
        verbose_name_plural = _("ledger events")

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.payout}"


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
        total = sum((r.amount for r in rows), ZERO)
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
                VoucherRow(
                    voucher=voucher, row_no=i, account=r.account, amount=r.amount, text=r.text
                )
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
        constraints = [
            # Fees and the transfer of one payout are one voucher, booked exactly once.
            models.UniqueConstraint(
                fields=["payout"], condition=Q(payout__isnull=False), name="one_voucher_per_payout"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series}{self.pk} {self.date} {self.text}"

    def total_debit(self) -> Decimal:
        return self.rows.filter(amount__gt=0).aggregate(s=Sum("amount"))["s"] or ZERO


class VoucherRow(models.Model):
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="rows")
    row_no = models.PositiveSmallIntegerField(_("row"))
    account = models.CharField(_("account"), max_length=10)
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Debit positive, credit negative."),
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
        return self.amount if self.amount > 0 else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else ZERO
