"""Transferred orders counted against the package quota (billing.quota writes these)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.contracts import Customer


class TransferredOrder(models.Model):
    """One order the engine transferred to the ERP, counted once however often it is reported."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="transferred_orders",
    )
    reference = models.CharField(_("reference"), max_length=100)
    transferred_at = models.DateTimeField(_("transferred"))
    # The Stockholm calendar day: the month an order counts in is the merchant's month.
    transferred_on = models.DateField(_("day"))
    over_quota = models.BooleanField(
        _("over the quota"), default=False, help_text=_("Beyond the quota when it was counted.")
    )

    class Meta:
        ordering = ["-transferred_at", "-pk"]
        verbose_name = _("transferred order")
        verbose_name_plural = _("transferred orders")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reference"], name="one_count_per_customer_order"
            )
        ]
        indexes = [models.Index(fields=["customer", "transferred_on"])]

    def __str__(self) -> str:
        return self.reference


class QuotaMonth(models.Model):
    """A customer's order count for one month. The row is also the lock every worker takes
    before counting an order, so the n-th order of a month knows that it is the n-th."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="quota_months"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    used = models.PositiveIntegerField(_("transferred orders"), default=0)

    class Meta:
        ordering = ["-month", "customer__name"]
        verbose_name = _("quota use")
        verbose_name_plural = _("quota use")
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="one_quota_row_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.month:%Y-%m}"


class QuotaWarning(models.Model):
    """A quota warning that was due; the unique row is what makes it go out at most once."""

    class Level(models.IntegerChoices):
        # xgettext:no-python-format
        NEARLY = 80, _("80 % of the quota")
        # xgettext:no-python-format
        REACHED = 100, _("100 % of the quota")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="quota_warnings",
    )
    month = models.DateField(_("month"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    used = models.PositiveIntegerField(_("orders when due"))
    quota = models.PositiveIntegerField(_("quota"))
    created_at = models.DateTimeField(_("due"), default=timezone.now)
    recipients = models.CharField(
        _("e-mailed to"),
        max_length=500,
        blank=True,
        help_text=_(
            "Empty when it was not e-mailed: a higher level was due at the same moment, there "
            "was nobody to mail, or the mail server failed."
        ),
    )

    class Meta:
        ordering = ["-month", "-level"]
        verbose_name = _("quota warning")
        verbose_name_plural = _("quota warnings")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "month", "level"], name="one_warning_per_month_and_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.month:%Y-%m} {self.level} %"
