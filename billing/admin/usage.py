"""Quota use: orders per customer and month against the quota, the orders counted, and the
warnings that went out. All written by billing.quota; read and exported here."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from billing.admin.helpers import (
    EMPTY,
    ImportExportPermissionMixin,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
)
from billing.admin.hours import FORMATS
from billing.models import QuotaMonth, QuotaWarning, Subscription, TransferredOrder
from billing.quota import quota_for
from billing.resources import QuotaUseResource


def _with_subscriptions(queryset: QuerySet[QuotaMonth]) -> QuerySet[QuotaMonth]:
    # The quota of a row comes from the customer's subscriptions: fetched once for the page.
    return queryset.prefetch_related(
        Prefetch("customer__subscriptions", queryset=Subscription.objects.select_related("package"))
    )


@admin.register(QuotaMonth)
class QuotaMonthAdmin(
    ImportExportPermissionMixin, ReadOnlyAdminMixin, ExportMixin, admin.ModelAdmin[QuotaMonth]
):
    resource_classes = [QuotaUseResource]
    formats = FORMATS
    list_display = ["customer", "month_text", "used", "quota", "percent", "overage"]
    list_select_related = ["customer"]
    list_filter = [customer_filter("customer")]
    search_fields = ["customer__name", "customer__organisation_number"]
    date_hierarchy = "month"

    def get_queryset(self, request: HttpRequest) -> QuerySet[QuotaMonth]:
        return _with_subscriptions(super().get_queryset(request))

    @staticmethod
    def _quota(obj: QuotaMonth) -> int | None:
        subscription = quota_for(obj.customer.subscriptions.all(), obj.month)
        return subscription.order_quota if subscription else None

    @admin.display(description=_("month"), ordering="month")
    def month_text(self, obj: QuotaMonth) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("quota"))
    def quota(self, obj: QuotaMonth) -> int | str:
        quota = self._quota(obj)
        return EMPTY if quota is None else quota

    @admin.display(description=_("used (%)"))
    def percent(self, obj: QuotaMonth) -> str:
        quota = self._quota(obj)
        return f"{obj.used * 100 // quota} %" if quota else EMPTY

    @admin.display(description=_("over the quota"))
    def overage(self, obj: QuotaMonth) -> int:
        quota = self._quota(obj)
        return max(0, obj.used - quota) if quota is not None else 0


@admin.register(TransferredOrder)
class TransferredOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[TransferredOrder]):
    list_display = ["reference", "customer", "transferred", "over_quota"]
    list_select_related = ["customer"]
    list_filter = ["over_quota", customer_filter("customer")]
    search_fields = ["reference", "customer__name"]
    date_hierarchy = "transferred_on"
    show_full_result_count = False

    @admin.display(description=_("transferred"), ordering="transferred_at")
    def transferred(self, obj: TransferredOrder) -> str:
        return local_time(obj.transferred_at)


@admin.register(QuotaWarning)
class QuotaWarningAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[QuotaWarning]):
    list_display = ["customer", "month_text", "level", "used", "quota", "due", "recipients"]
    list_select_related = ["customer"]
    list_filter = ["level", customer_filter("customer")]
    search_fields = ["customer__name"]

    @admin.display(description=_("month"), ordering="month")
    def month_text(self, obj: QuotaWarning) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("due"), ordering="created_at")
    def due(self, obj: QuotaWarning) -> str:
        return local_time(obj.created_at)
