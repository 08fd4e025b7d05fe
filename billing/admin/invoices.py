"""Fee invoices: created by `manage.py billing_run`, read and exported here. Only the sent date
and a note can be changed; the amounts are what the run calculated."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin

from billing.admin.helpers import (
    ImportExportPermissionMixin,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
    money,
)
from billing.admin.hours import FORMATS
from billing.models import FeeInvoice, FeeInvoiceLine
from billing.resources import FeeInvoiceResource


class FeeInvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline[FeeInvoiceLine, FeeInvoice]):
    model = FeeInvoiceLine
    extra = 0
    fields = ["position", "description", "explanation", "quantity", "unit_price", "amount_text"]
    readonly_fields = fields

    @admin.display(description=_("amount (SEK)"))
    def amount_text(self, obj: FeeInvoiceLine) -> str:
        return money(obj.amount)


@admin.register(FeeInvoice)
class FeeInvoiceAdmin(ImportExportPermissionMixin, ExportMixin, admin.ModelAdmin[FeeInvoice]):
    resource_classes = [FeeInvoiceResource]
    formats = FORMATS
    list_display = [
        "number",
        "customer",
        "month_text",
        "subtotal_text",
        "vat_text",
        "total_text",
        "sent_on",
    ]
    list_select_related = ["customer"]
    list_filter = [customer_filter("customer"), ("sent_on", admin.EmptyFieldListFilter)]
    search_fields = ["number", "customer__name", "customer__organisation_number"]
    date_hierarchy = "month"
    show_full_result_count = False
    inlines = [FeeInvoiceLineInline]
    fields = [
        "number",
        "customer",
        "month_text",
        "subtotal_text",
        "vat_text",
        "total_text",
        "created",
        "sent_on",
        "note",
    ]
    readonly_fields = [
        "number",
        "customer",
        "month_text",
        "subtotal_text",
        "vat_text",
        "total_text",
        "created",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_export_queryset(self, request: HttpRequest) -> QuerySet[FeeInvoice]:
        return super().get_export_queryset(request).prefetch_related("lines")

    @admin.display(description=_("month"), ordering="month")
    def month_text(self, obj: FeeInvoice) -> str:
        return f"{obj.month:%Y-%m}"

    @admin.display(description=_("amount excl. VAT (SEK)"), ordering="subtotal")
    def subtotal_text(self, obj: FeeInvoice) -> str:
        return money(obj.subtotal)

    @admin.display(description=_("VAT 25 % (SEK)"), ordering="vat")
    def vat_text(self, obj: FeeInvoice) -> str:
        return money(obj.vat)

    @admin.display(description=_("total (SEK)"), ordering="total")
    def total_text(self, obj: FeeInvoice) -> str:
        return money(obj.total)

    @admin.display(description=_("created"))
    def created(self, obj: FeeInvoice) -> str:
        return local_time(obj.created_at)
