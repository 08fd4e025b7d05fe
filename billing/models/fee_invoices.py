"""Our invoices to our customers, one per customer and month (billing.invoicing writes them)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.contracts import Customer

VAT_RATE = Decimal("0.25")


class FeeInvoice(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="fee_invoices"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month billed."))
    number = models.CharField(_("invoice number"), max_length=30, unique=True)
    subtotal = models.DecimalField(_("amount excl. VAT (SEK)"), max_digits=12, decimal_places=2)
    vat = models.DecimalField(_("VAT 25 % (SEK)"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total (SEK)"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-month", "customer__name"]
        verbose_name = _("fee invoice")
        verbose_name_plural = _("fee invoices")
        constraints = [
            # What makes a billing run idempotent: a second run finds the row and leaves it.
            models.UniqueConstraint(fields=["customer", "month"], name="one_fee_invoice_per_month")
        ]

    def __str__(self) -> str:
        return self.number


class FeeInvoiceLine(models.Model):
    class Kind(models.TextChoices):
        INSTALLATION = "installation", _("Installation fee")
        MONTHLY_FEE = "monthly_fee", _("Monthly fee")
        EXTRA_SHOPS = "extra_shops", _("Extra shops")
        OVERAGE = "overage", _("Orders over the quota")
        HOURS = "hours", _("Service hours")

    invoice = models.ForeignKey(
        FeeInvoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.CharField(_("description"), max_length=200)
    explanation = models.CharField(_("how it is calculated"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price (SEK)"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount (SEK)"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        verbose_name = _("fee invoice line")
        verbose_name_plural = _("fee invoice lines")

    def __str__(self) -> str:
        return self.description
