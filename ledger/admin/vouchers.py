"""Vouchers: balanced, made once, never edited here."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.admin import (
    EMPTY,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
    money,
)
from ledger.models import (
    Voucher,
    VoucherRow,
)


class VoucherRowInline(ReadOnlyAdminMixin, admin.TabularInline[VoucherRow, Voucher]):
    model = VoucherRow
    fields = ["row_no", "account", "debit_text", "credit_text", "text"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    @admin.display(description=_("debit"))
    def debit_text(self, obj: VoucherRow) -> str:
        return money(obj.debit) if obj.debit else EMPTY

    @admin.display(description=_("credit"))
    def credit_text(self, obj: VoucherRow) -> str:
        return money(obj.credit) if obj.credit else EMPTY


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Voucher]):
    list_display = [
        "number",
        "date",
        "customer",
        "text",
        "payout",
        "state",
        "debit_total",
        "balanced",
    ]
    list_select_related = ["customer", "payout__connection"]
    list_filter = ["state", "series", customer_filter("customer")]
    search_fields = ["text", "remote_id", "customer__name", "payout__reference"]
    date_hierarchy = "date"
    show_full_result_count = False
    inlines = [VoucherRowInline]
    fields = [
        "number",
        "customer",
        "date",
        "text",
        "payout",
        "state",
        "remote_id",
        "debit_total",
        "balanced",
        "created",
    ]
    readonly_fields = ["number", "debit_total", "balanced", "created"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Voucher]:
        # The sums for the list in the same query as the vouchers, not one query per row.
        return (
            super()
            .get_queryset(request)
            .annotate(
                rows_total=Sum("rows__amount"),
                rows_debit=Sum("rows__amount", filter=Q(rows__amount__gt=0)),
            )
        )

    @admin.display(description=_("voucher"), ordering="pk")
    def number(self, obj: Voucher) -> str:
        return f"{obj.series}{obj.pk}"

    @admin.display(description=_("debit = credit"), ordering="rows_debit")
    def debit_total(self, obj: Voucher) -> str:
        return money(getattr(obj, "rows_debit", None) or Decimal("0.00"))

    @admin.display(description=_("balanced"), boolean=True)
    def balanced(self, obj: Voucher) -> bool:
        total = getattr(obj, "rows_total", None)
        return total is not None and total == 0

    @admin.display(description=_("created"))
    def created(self, obj: Voucher) -> str:
        return local_time(obj.created_at)
