"""Payout lines (mark handled, with a comment), customer-ledger items, imported files, the audit
trail and the per-customer account plans."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.admin import (
    EMPTY,
    ReadOnlyAdminMixin,
    local_time,
    money,
    pretty_json,
)
from ledger import services
from ledger.accounts import AccountPlan
from ledger.admin.helpers import ReconcilePermissionMixin, intermediate_page, warning
from ledger.forms import CommentForm
from ledger.models import (
    ImportedFile,
    LedgerEvent,
    LedgerItem,
    PayoutLine,
    arithmetic_broken,
)


class FlaggedFilter(admin.SimpleListFilter):
    title = _("gateway's own arithmetic")
    parameter_name = "arithmetic"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("broken", _("net ≠ gross − fee (flagged)"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PayoutLine]
    ) -> QuerySet[PayoutLine]:
        return queryset.filter(arithmetic_broken()) if self.value() == "broken" else queryset


@admin.register(PayoutLine)
class PayoutLineAdmin(ReconcilePermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin[PayoutLine]):
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
        "match_note",
    ]
    list_select_related = ["payout__connection"]
    list_filter = ["match", "type", FlaggedFilter, "payout__connection__platform"]
    search_fields = ["order_reference", "transaction_id", "payout__reference"]
    show_full_result_count = False
    actions = ["mark_handled"]
    fields = [
        "payout",
        "line_no",
        "type",
        "order_reference",
        "source_order_id",
        "transaction_id",
        "related_transaction_id",
        "time",
        "country",
        "currency",
        "gross",
        "fee",
        "net",
        "arithmetic",
        "match",
        "match_note",
        "orders",
        "raw_pretty",
    ]
    readonly_fields = ["time", "arithmetic", "orders", "raw_pretty"]

    @admin.action(description=_("Mark handled, with a comment…"), permissions=["reconcile"])
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[PayoutLine]):
        form = CommentForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for line in queryset.select_related("payout"):
                try:
                    services.line_mark_handled(
                        line=line, user=request.user, comment=form.cleaned_data["comment"]
                    )
                    done += 1
                except ValidationError as exc:
                    self.message_user(
                        request, f"{line}: {' '.join(exc.messages)}", messages.WARNING
                    )
            self.message_user(request, gettext("%(count)s lines marked handled.") % {"count": done})
            return None
        return intermediate_page(
            request,
            self,
            queryset,
            title=gettext("Mark lines handled"),
            form=form,
            action="mark_handled",
            button=gettext("Mark handled"),
        )

    @admin.display(description=_("time"), ordering="occurred_at")
    def time(self, obj: PayoutLine) -> str:
        return local_time(obj.occurred_at)

    @admin.display(description=_("net = gross − fee?"))
    def arithmetic(self, obj: PayoutLine) -> SafeString | str:
        if not obj.breaks_own_arithmetic:
            return gettext("Yes.")
        return warning(
            gettext("No: the gateway says %(net)s, gross − fee is %(sum)s. Its figures are kept.")
            % {"net": money(obj.net), "sum": money(obj.gross - obj.fee)}
        )

    @admin.display(description=_("pays"))
    def orders(self, obj: PayoutLine) -> SafeString | str:
        allocations = list(obj.allocations.select_related("item"))
        if not allocations:
            return EMPTY
        return format_html_join(
            mark_safe("<br>"),
            "{} ({}) {}",
            (
                (
                    a.item.natural_key,
                    a.get_state_display(),
                    money(a.amount) if a.amount is not None else "",
                )
                for a in allocations
            ),
        )

    @admin.display(description=_("source row"))
    def raw_pretty(self, obj: PayoutLine) -> SafeString | str:
        return pretty_json(obj.raw)


@admin.register(LedgerItem)
class LedgerItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[LedgerItem]):
    list_display = ["natural_key", "order_reference", "kind", "currency", "state", "paid"]
    list_filter = ["kind", "state", "connection__platform"]
    search_fields = ["order_reference", "natural_key", "remote_id"]
    list_select_related = ["connection"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerItem]:
        return super().get_queryset(request).annotate(paid_sum=Sum("allocations__amount"))

    @admin.display(description=_("paid (net of refunds)"))
    def paid(self, obj: LedgerItem) -> str:
        return money(getattr(obj, "paid_sum", None))


@admin.register(ImportedFile)
class ImportedFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ImportedFile]):
    list_display = ["name", "connection", "source_format", "size", "imported_at", "imported_by"]
    list_filter = ["source_format"]
    search_fields = ["name", "sha256", "payouts__reference"]
    list_select_related = ["connection__customer", "imported_by"]


@admin.register(LedgerEvent)
class LedgerEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[LedgerEvent]):
    list_display = ["created_at", "action", "payout", "line", "user", "comment"]
    list_filter = ["action"]
    search_fields = ["payout__reference", "comment", "user__username"]
    list_select_related = ["payout__connection", "line", "user"]
    show_full_result_count = False


@admin.register(AccountPlan)
class AccountPlanAdmin(admin.ModelAdmin[AccountPlan]):
    list_display = ["customer", "clearing", "bank", "fees", "sells_in_several_countries"]
    search_fields = ["customer__name"]
    list_select_related = ["customer"]
