"""Our own business: customers, the packages they subscribe to, their subscriptions and the
audit trail of package changes."""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.se import orgnr

EXTRA_SHOP_FEE = Decimal("295.00")
CENT = Decimal("0.01")
START_PACKAGE_HOURS = (Decimal("2"), Decimal("4"))


def to_ore(value: Decimal) -> Decimal:
    """Money rounded to öre the way the invoice lines are: half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def last_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


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
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


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
    """A customer's contract on one package for a period: 3 months minimum term, 1 month notice.

    A package change never edits a row: it ends the running row and starts a new one that
    `replaces` it (billing.subscriptions.change_package), so every day of the past keeps the
    package it was billed on. `contract_start` carries the first day of the contract through the
    changes: the minimum term counts from it, not from the last change."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="subscriptions"
    )
    package = models.ForeignKey(Package, verbose_name=_("package"), on_delete=models.PROTECT)
    start_date = models.DateField(_("start"))
    contract_start = models.DateField(
        _("contract start"),
        null=True,
        blank=True,
        help_text=_("The first day of the contract; package changes keep it."),
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text=_("The subscription this package change ended."),
    )
    minimum_term_months = models.PositiveSmallIntegerField(_("minimum term (months)"), default=3)
    notice_months = models.PositiveSmallIntegerField(_("notice (months)"), default=1)
    notice_given_on = models.DateField(_("notice given on"), null=True, blank=True)
    end_date = models.DateField(
        _("end"),
        null=True,
        blank=True,
        help_text=_("Left empty when notice is given, it becomes the earliest possible end."),
    )
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
    quoted_order_quota = models.PositiveIntegerField(_("quoted order quota"), null=True, blank=True)
    start_package_hours = models.DecimalField(
        _("start package hours"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2"),
        help_text=_(
            "2–4 h of delivery, installation, training and configuration, credited to the "
            "service account when the contract starts."
        ),
    )

    class Meta:
        ordering = ["-start_date"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [models.Index(fields=["customer", "start_date"])]

    def __str__(self) -> str:
        return f"{self.customer} · {self.package} · {self.start_date:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.contract_start is None:
            self.contract_start = self.start_date
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.notice_given_on and not self.end_date and self.start_date:
            self.end_date = self.earliest_end_date(self.notice_given_on)
        if self.end_date and self.start_date and self.end_date < self.start_date:
            errors["end_date"] = _("The end cannot be before the start.")
        if self.package_id:
            if self.extra_shops and not self.package.multishop:
                errors["extra_shops"] = _(
                    "Extra shops need a package with multishop (400 or more)."
                )
            if self.package.is_quoted:
                if self.quoted_monthly_fee is None:
                    errors["quoted_monthly_fee"] = _("A premium subscription needs its quoted fee.")
                if self.quoted_order_quota is None:
                    errors["quoted_order_quota"] = _(
                        "A premium subscription needs its quoted order quota."
                    )
                if self.quoted_installation_fee is None and self.is_contract_start:
                    errors["quoted_installation_fee"] = _(
                        "A premium subscription needs its quoted installation fee."
                    )
        low, high = START_PACKAGE_HOURS
        if self.is_contract_start and not low <= self.start_package_hours <= high:
            errors["start_package_hours"] = _("The start package is 2–4 hours.")
        if not errors and self.customer_id and self.start_date and self._overlaps_another():
            errors["start_date"] = _(
                "This customer already has a subscription in that period; change the package "
                "instead of adding a subscription."
            )
        if errors:
            raise ValidationError(errors)

    def _overlaps_another(self) -> bool:
        others = Subscription.objects.filter(customer_id=self.customer_id).exclude(pk=self.pk)
        if self.end_date:
            others = others.filter(start_date__lte=self.end_date)
        return others.filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=self.start_date)
        ).exists()

    @property
    def is_contract_start(self) -> bool:
        """The first period of a contract (not the result of a package change)."""
        return self.replaces_id is None

    @property
    def monthly_fee(self) -> Decimal:
        return self.quoted_monthly_fee if self.package.is_quoted else self.package.monthly_fee

    @property
    def installation_fee(self) -> Decimal | None:
        if self.package.is_quoted:
            return self.quoted_installation_fee
        return self.package.installation_fee

    @property
    def order_quota(self) -> int | None:
        return self.quoted_order_quota if self.package.is_quoted else self.package.order_quota

    @property
    def overage_unit_price(self) -> Decimal | None:
        """What one order over the quota costs. The product sheet sets no overage price, so an
        extra order costs what an order in the package costs: monthly fee / quota (to öre)."""
        fee, quota = self.monthly_fee, self.order_quota
        if fee is None or not quota:
            return None
        return to_ore(fee / quota)

    @property
    def term_start(self) -> datetime.date:
        return self.contract_start or self.start_date

    @property
    def minimum_term_end(self) -> datetime.date:
        return add_months(self.term_start, self.minimum_term_months) - datetime.timedelta(days=1)

    def earliest_end_date(self, notice_on: datetime.date | None = None) -> datetime.date:
        """The last day of the contract if notice is given on `notice_on` (default today):
        the later of the end of the minimum term and the end of the notice period."""
        notice_on = notice_on or self.notice_given_on or timezone.localdate()
        notice_end = add_months(notice_on, self.notice_months) - datetime.timedelta(days=1)
        return max(self.minimum_term_end, notice_end)

    def days_in(
        self, first: datetime.date, last: datetime.date
    ) -> tuple[datetime.date, datetime.date] | None:
        """The part of [first, last] this subscription covers, or None."""
        start = max(self.start_date, first)
        end = min(self.end_date or last, last)
        return (start, end) if start <= end else None


class SubscriptionChange(models.Model):
    """The audit row of one package change: who changed what, when, and from which day."""

    class Kind(models.TextChoices):
        UPGRADE = "upgrade", _("Upgrade (from the day of the change)")
        DOWNGRADE = "downgrade", _("Downgrade (from the 1st of next month)")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="package_changes",
    )
    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="changes",
        help_text=_("The subscription the change created or changed."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    from_package = models.ForeignKey(
        Package, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    to_package = models.ForeignKey(
        Package, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    effective_from = models.DateField(_("takes effect"))
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("package change")
        verbose_name_plural = _("package changes")

    def __str__(self) -> str:
        return f"{self.customer}: {self.from_package} → {self.to_package} ({self.effective_from})"
