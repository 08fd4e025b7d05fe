"""The service account: hours bought (credits) and hours worked (debits). The balance is always
derived from these rows (billing.service_account), never stored."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.contracts import Customer, to_ore

QUARTER = Decimal("0.25")


def validate_quarter_hours(value: Decimal) -> None:
    if value <= 0 or value % QUARTER:
        raise ValidationError(
            _("%(value)s h is not a positive number of quarter hours (0.25, 0.5, 0.75 …)."),
            params={"value": value},
        )


class TimeEntry(models.Model):
    """Hours a member of staff worked for a customer, drawn from the service account."""

    class Category(models.TextChoices):
        DELIVERY = "delivery", _("Delivery")
        INSTALLATION = "installation", _("Installation")
        TRAINING = "training", _("Training")
        CONFIGURATION = "configuration", _("Configuration")
        INITIAL_SYNC = "initial_sync", _("Initial sync")
        PLUGIN_DEVELOPMENT = "plugin_development", _("Plugin development")
        QUALIFIED_SUPPORT = "qualified_support", _("Qualified support")
        SYSTEM_CHANGE = "system_change", _("System change")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="time_entries"
    )
    date = models.DateField(_("date"))
    hours = models.DecimalField(
        _("hours"), max_digits=5, decimal_places=2, validators=[validate_quarter_hours]
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.CharField(_("description"), max_length=300)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="time_entries",
    )
    below_zero_reason = models.CharField(
        _("reason for going below zero"),
        max_length=300,
        blank=True,
        help_text=_("Required when this entry takes the service account below zero."),
    )
    created_at = models.DateTimeField(_("logged"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [models.Index(fields=["customer", "-date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.hours} h {self.get_category_display()}"

    def clean(self) -> None:
        # Checked against what is stored; several new entries at once are checked together by
        # the admin's formset (billing.admin.hours), an import row by row in its transaction.
        from billing import service_account

        if self.customer_id is None or self.hours is None or self.below_zero_reason.strip():
            return
        if service_account.balance_after(self.customer, debit=self.hours, replacing=self) < 0:
            raise ValidationError(
                {
                    "below_zero_reason": _(
                        "This entry takes the service account below zero: give a reason."
                    )
                }
            )


class HourPurchase(models.Model):
    """An hour package the customer bought: credits on the service account, billed once on the
    next fee invoice."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="hour_purchases",
    )
    date = models.DateField(_("bought on"))
    hours = models.DecimalField(
        _("hours"), max_digits=6, decimal_places=2, validators=[validate_quarter_hours]
    )
    price = models.DecimalField(
        _("list price (SEK)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    invoice = models.ForeignKey(
        "billing.FeeInvoice",
        verbose_name=_("invoiced on"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hour_purchases",
    )

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("hour purchase")
        verbose_name_plural = _("hour purchases")

    def __str__(self) -> str:
        return f"{self.date} {self.hours} h"

    BILLED_FIELDS = ("customer_id", "date", "hours", "price", "discount_percent")

    def clean(self) -> None:
        if not self.pk or not self.invoice_id:
            return
        stored = HourPurchase.objects.filter(pk=self.pk).values(*self.BILLED_FIELDS).first()
        if stored and any(stored[name] != getattr(self, name) for name in self.BILLED_FIELDS):
            raise ValidationError(
                _("This purchase is on invoice %(invoice)s already; it cannot change."),
                params={"invoice": self.invoice},
            )

    @property
    def amount(self) -> Decimal:
        """The price after the discount, rounded to öre."""
        return to_ore(self.price * (100 - self.discount_percent) / 100)
