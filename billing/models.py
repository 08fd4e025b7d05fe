"""Our own business: customers, the packages they subscribe to, and their subscriptions."""

from __future__ import annotations

import calendar
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.se import orgnr

EXTRA_SHOP_FEE = Decimal("295.00")


def validate_organisation_number(value: str) -> None:
    try:
        orgnr.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            _("%(value)s is not a valid Swedish organisation number (%(reason)s)."),
            params={"value": value, "reason": exc.message},
        ) from exc


def validate_vat_number(value: str) -> None:
    try:
        eu_vat.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            _("%(value)s is not a valid EU VAT number (%(reason)s)."),
            params={"value": value, "reason": exc.message},
        ) from exc


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


class Package(models.Model):
    """A price plan from the product sheet (DESIGN.md section 3). Loaded by a data migration."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    # None where the sheet says "quote": premium prices are entered per customer.
    monthly_fee = models.DecimalField(
        _("monthly fee (SEK)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    installation_fee = models.DecimalField(
        _("installation fee (SEK)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    order_quota = models.PositiveIntegerField(
        _("max transferred orders / month"), null=True, blank=True
    )
    order_status = models.BooleanField(_("order status"), default=False)
    stock = models.BooleanField(_("stock balance"), default=False)
    price_lists = models.BooleanField(_("price structures (price lists)"), default=False)
    plugins = models.BooleanField(_("plugins"), default=False)
    multishop = models.BooleanField(_("multishop"), default=False)
    key_account_manager = models.BooleanField(_("own key account manager"), default=False)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("Order from small to large."))

    class Meta:
        ordering = ["rank"]
        verbose_name = _("package")
        verbose_name_plural = _("packages")

    def __str__(self) -> str:
        return self.name

    @property
    def is_quoted(self) -> bool:
        return self.monthly_fee is None

    FEATURES = ("order_status", "stock", "price_lists", "plugins", "multishop")

    def allows(self, feature: str) -> bool:
        return bool(getattr(self, feature))


class Customer(models.Model):
    """A merchant we run integrations for."""

    name = models.CharField(_("name"), max_length=200)
    organisation_number = models.CharField(
        _("organisation number"),
        max_length=13,
        unique=True,
        validators=[validate_organisation_number],
        help_text=_("NNNNNN-NNNN"),
    )
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_customers",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.organisation_number:
            self.organisation_number = orgnr.format(self.organisation_number)
        if self.vat_number:
            self.vat_number = eu_vat.compact(self.vat_number)

    def current_subscription(self, on: datetime.date | None = None) -> Subscription | None:
        on = on or timezone.localdate()
        return (
            self.subscriptions.filter(start_date__lte=on)
            .filter(models.Q(end_date__isnull=True) | models.Q(end_date__gte=on))
            .select_related("package")
            .order_by("-start_date")
            .first()
        )


class Subscription(models.Model):
    """A customer's contract on a package: 3 months minimum term, 1 month notice."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="subscriptions"
    )
    package = models.ForeignKey(Package, verbose_name=_("package"), on_delete=models.PROTECT)
    start_date = models.DateField(_("start"))
    minimum_term_months = models.PositiveSmallIntegerField(_("minimum term (months)"), default=3)
    notice_months = models.PositiveSmallIntegerField(_("notice (months)"), default=1)
    notice_given_on = models.DateField(_("notice given on"), null=True, blank=True)
    end_date = models.DateField(_("end"), null=True, blank=True)
    extra_shops = models.PositiveSmallIntegerField(
        _("extra shops"), default=0, help_text=_("Billed at 295 SEK per shop and month.")
    )
    # Premium is quoted: the fees and quota agreed with this customer.
    quoted_monthly_fee = models.DecimalField(
        _("quoted monthly fee (SEK)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    quoted_installation_fee = models.DecimalField(
        _("quoted installation fee (SEK)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    quoted_order_quota = models.PositiveIntegerField(
        _("quoted order quota"), null=True, blank=True
    )
    start_package_hours = models.DecimalField(
        _("start package hours"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2"),
        help_text=_("2–4 h of delivery, installation, training and configuration."),
    )

    class Meta:
        ordering = ["-start_date"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.customer} · {self.package} · {self.start_date:%Y-%m-%d}"

    def clean(self) -> None:
        errors = {}
        if self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("The end cannot be before the start.")
        if self.extra_shops and self.package_id and not self.package.multishop:
            errors["extra_shops"] = _("Extra shops need a package with multishop (400 or more).")
        if self.package_id and self.package.is_quoted and self.quoted_monthly_fee is None:
            errors["quoted_monthly_fee"] = _("A premium subscription needs its quoted fee.")
        if errors:
            raise ValidationError(errors)

    @property
    def monthly_fee(self) -> Decimal:
        return self.quoted_monthly_fee if self.package.is_quoted else self.package.monthly_fee

    @property
    def order_quota(self) -> int | None:
        return self.quoted_order_quota if self.package.is_quoted else self.package.order_quota

    @property
    def minimum_term_end(self) -> datetime.date:
        return add_months(self.start_date, self.minimum_term_months) - datetime.timedelta(days=1)

    def earliest_end_date(self, notice_on: datetime.date | None = None) -> datetime.date:
        """The last day of the contract if notice is given on `notice_on` (default today):
        the later of the end of the minimum term and the end of the notice period."""
        notice_on = notice_on or self.notice_given_on or timezone.localdate()
        notice_end = add_months(notice_on, self.notice_months) - datetime.timedelta(days=1)
        return max(self.minimum_term_end, notice_end)
