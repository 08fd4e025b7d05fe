"""Admin for the settlement ledger. Everything here is read-only: payouts and their lines are
what the gateway reported (the importers write them), and a voucher is bookkeeping that must
stay exactly as it was made (Voucher.objects.create_balanced is the only writer)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from billing.admin import (
    EMPTY,
    LimitedInlineFormSet,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
    money,
    pretty_json,
)
from ledger.models import Payout, PayoutLine, Voucher, VoucherRow


def _raw_collapsed(raw: Any) -> SafeString | str:
    if not raw:
        return EMPTY
    return format_html("<details><summary>{}</summary>{}</details>", _("show"), pretty_json(raw))


# --- Payouts -----------------------------------------------------------------------------------


class PayoutLineInline(ReadOnlyAdminMixin, admin.TabularInline[PayoutLine, Payout]):
    model = PayoutLine
    formset = LimitedInlineFormSet
    verbose_name_plural = _("payout lines (the first 200)")
    fields = [
        "line_no",
        "type",
        "order_reference",
        "transaction_id",
        "time",
        "currency",
        "gross",
        "fee",
        "net",
        "match",
        "match_note",
        "raw_pretty",
    ]
    readonly_fields = fields
    can_delete = False
    extra = 0

    @admin.display(description=_("time"))
    def time(self, obj: PayoutLine) -> str:
        return local_time(obj.occurred_at)

    @admin.display(description=_("source row"))
    def raw_pretty(self, obj: PayoutLine) -> SafeString | str:
        return _raw_collapsed(obj.raw)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Payout]):
    list_display = [
        "gateway",
        "customer",
        "reference",
        "payout_date",
        "currency",
        "gross",
        "fees",
        "net",
        "status",
    ]
    list_display_links = ["gateway", "reference"]
    list_select_related = ["connection__customer"]
    list_filter = [
        "status",
        "connection__platform",
        "currency",
        customer_filter("connection__customer"),
    ]
    # lines__order_reference answers "which payout paid order 100234?".
    search_fields = ["reference", "connection__customer__name", "lines__order_reference"]
    date_hierarchy = "payout_date"
    show_full_result_count = False
    inlines = [PayoutLineInline]
    fields = [
        "gateway",
        "customer",
        "reference",
        "payout_date",
        "currency",
        "gross",
        "fees",
        "net",
        "lines_net_text",
        "discrepancy_text",
        "status",
        "source_name",
        "imported",
        "voucher_links",
    ]
    readonly_fields = [
        "gateway",
        "customer",
        "lines_net_text",
        "discrepancy_text",
        "imported",
        "voucher_links",
    ]

    @admin.display(description=_("gateway"), ordering="connection__platform")
    def gateway(self, obj: Payout) -> str:
        return f"{obj.connection.get_platform_display()} · {obj.connection.name}"

    @admin.display(description=_("customer"), ordering="connection__customer__name")
    def customer(self, obj: Payout) -> str:
        return obj.connection.customer.name

    @admin.display(description=_("sum of the lines (net)"))
    def lines_net_text(self, obj: Payout) -> str:
        return money(obj.lines_net())

    @admin.display(description=_("not explained by the lines"))
    def discrepancy_text(self, obj: Payout) -> SafeString | str:
        difference = obj.discrepancy()
        if difference == 0:
            return money(difference)
        return format_html('<strong style="color: #c62828">{}</strong>', money(difference))

    @admin.display(description=_("imported"))
    def imported(self, obj: Payout) -> str:
        return local_time(obj.imported_at)

    @admin.display(description=_("vouchers"))
    def voucher_links(self, obj: Payout) -> SafeString | str:
        vouchers = list(obj.vouchers.order_by("pk"))
        if not vouchers:
            return EMPTY
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>',
            ((reverse("admin:ledger_voucher_change", args=[v.pk]), str(v)) for v in vouchers),
        )


@admin.register(PayoutLine)
class PayoutLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[PayoutLine]):
    list_display = [
        "payout",
        "line_no",
        "type",
        "order_reference",
        "transaction_id",
        "currency",
        "gross",
        "fee",
        "net",
        "match",
    ]
    list_select_related = ["payout__connection"]
    list_filter = ["type", "match", "payout__connection__platform"]
    search_fields = ["order_reference", "transaction_id", "payout__reference"]
    show_full_result_count = False
    fields = [
        "payout",
        "line_no",
        "type",
        "order_reference",
        "transaction_id",
        "time",
        "currency",
        "gross",
        "fee",
        "net",
        "match",
        "match_note",
        "raw_pretty",
    ]
    readonly_fields = ["time", "raw_pretty"]

    @admin.display(description=_("time"), ordering="occurred_at")
    def time(self, obj: PayoutLine) -> str:
        return local_time(obj.occurred_at)

    @admin.display(description=_("source row"))
    def raw_pretty(self, obj: PayoutLine) -> SafeString | str:
        return pretty_json(obj.raw)


# --- Vouchers ----------------------------------------------------------------------------------


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
