"""The service account in the admin: time entries (debits) and hour purchases (credits), as
inlines on the customer page and as lists of their own with import and export."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats

from billing import service_account
from billing.admin.helpers import (
    ImportExportPermissionMixin,
    customer_filter,
    hours_text,
    local_time,
    money,
)
from billing.models import Customer, HourPurchase, TimeEntry
from billing.resources import HourPurchaseResource, TimeEntryResource

FORMATS = [base_formats.CSV, base_formats.XLSX]
# The customer page shows the recent entries; the full list is one click away.
INLINE_DAYS = 92


class TimeEntryFormSet(BaseInlineFormSet):
    """Each entry is checked against the stored balance by TimeEntry.clean; several entries
    saved at once are checked here together, so two entries cannot go below zero unnoticed."""

    def clean(self) -> None:
        super().clean()
        customer = self.instance
        if any(self.errors) or customer.pk is None:
            return
        drawn, debits, reasons = Decimal(0), [], []
        for form in self.forms:
            if not form.has_changed() or not hasattr(form, "cleaned_data"):
                continue
            before = (form.initial.get("hours") or Decimal(0)) if form.instance.pk else Decimal(0)
            after = Decimal(0) if self._should_delete_form(form) else form.cleaned_data["hours"]
            drawn += after - before
            if after > before:
                debits.append(form)
                reasons.append(form.cleaned_data.get("below_zero_reason", "").strip())
        # One reason covers the batch: it is the same decision to work beyond the hours paid for.
        if debits and not any(reasons) and service_account.balance(customer) - drawn < 0:
            for form in debits:
                form.add_error(
                    "below_zero_reason",
                    _("These entries take the service account below zero: give a reason."),
                )


class _StampUserMixin:
    """The person saving is who logged the hours (time entries) or registered the purchase."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            deleted.delete()
        for instance in instances:
            _stamp(instance, request.user)
            instance.save()
        formset.save_m2m()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        _stamp(obj, request.user)
        super().save_model(request, obj, form, change)  # type: ignore[misc]


def _stamp(instance: Any, user: Any) -> None:
    if isinstance(instance, TimeEntry) and not instance.staff_id:
        instance.staff = user
    if isinstance(instance, HourPurchase) and not instance.created_by_id:
        instance.created_by = user


class TimeEntryInline(admin.TabularInline[TimeEntry, Customer]):
    model = TimeEntry
    formset = TimeEntryFormSet
    extra = 1
    fields = ["date", "hours", "category", "description", "below_zero_reason", "who"]
    readonly_fields = ["who"]
    verbose_name_plural = _("time entries of the last three months")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TimeEntry]:
        since = timezone.localdate() - datetime.timedelta(days=INLINE_DAYS)
        return super().get_queryset(request).filter(date__gte=since).select_related("staff")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["date"].initial = timezone.localdate
        return formset

    @admin.display(description=_("who"))
    def who(self, obj: TimeEntry) -> str:
        return obj.staff.get_username() if obj.staff_id else ""


class HourPurchaseInline(admin.TabularInline[HourPurchase, Customer]):
    model = HourPurchase
    extra = 0
    fields = ["date", "hours", "price", "discount_percent", "amount_text", "note", "invoice"]
    readonly_fields = ["amount_text", "invoice"]

    @admin.display(description=_("to pay (SEK)"))
    def amount_text(self, obj: HourPurchase) -> str:
        return money(obj.amount) if obj.pk else ""


@admin.register(TimeEntry)
class TimeEntryAdmin(
    ImportExportPermissionMixin, _StampUserMixin, ImportExportMixin, admin.ModelAdmin[TimeEntry]
):
    resource_classes = [TimeEntryResource]
    formats = FORMATS
    list_display = ["date", "customer", "hours_shown", "category", "staff", "description"]
    list_select_related = ["customer", "staff"]
    list_filter = [
        "category",
        customer_filter("customer"),
        ("staff", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["description", "customer__name", "customer__organisation_number"]
    date_hierarchy = "date"
    autocomplete_fields = ["customer"]
    fields = [
        "customer",
        "date",
        "hours",
        "category",
        "description",
        "below_zero_reason",
        "staff",
        "logged",
    ]
    readonly_fields = ["staff", "logged"]
    show_full_result_count = False

    @admin.display(description=_("hours"), ordering="hours")
    def hours_shown(self, obj: TimeEntry) -> str:
        if obj.below_zero_reason:
            return format_html(
                '<span style="color: #c62828" title="{}">{}</span>',
                obj.below_zero_reason,
                hours_text(obj.hours),
            )
        return hours_text(obj.hours)

    @admin.display(description=_("logged"))
    def logged(self, obj: TimeEntry) -> str:
        return local_time(obj.created_at)


@admin.register(HourPurchase)
class HourPurchaseAdmin(
    ImportExportPermissionMixin, _StampUserMixin, ImportExportMixin, admin.ModelAdmin[HourPurchase]
):
    resource_classes = [HourPurchaseResource]
    formats = FORMATS
    list_display = [
        "date",
        "customer",
        "hours",
        "price",
        "discount_percent",
        "amount_text",
        "invoice",
    ]
    list_select_related = ["customer", "invoice"]
    list_filter = [customer_filter("customer"), ("invoice", admin.EmptyFieldListFilter)]
    search_fields = ["customer__name", "customer__organisation_number", "note"]
    date_hierarchy = "date"
    autocomplete_fields = ["customer"]
    fields = [
        "customer",
        "date",
        "hours",
        "price",
        "discount_percent",
        "amount_text",
        "note",
        "invoice",
        "created_by",
        "registered",
    ]
    readonly_fields = ["amount_text", "invoice", "created_by", "registered"]

    @admin.display(description=_("to pay (SEK)"))
    def amount_text(self, obj: HourPurchase) -> str:
        return money(obj.amount) if obj.pk else ""

    @admin.display(description=_("registered"))
    def registered(self, obj: HourPurchase) -> str:
        return local_time(obj.created_at)
