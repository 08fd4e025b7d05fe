"""Payouts: the list with its picture over time and its filters, the page with the lines, the
totals per type, whether it can be booked and why not; import, re-match, book, set a rate."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing.admin import (
    EMPTY,
    LimitedInlineFormSet,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
    money,
)
from ledger import booking, charts, exchange, services
from ledger.accounts import AccountPlan
from ledger.admin.helpers import ReconcilePermissionMixin, intermediate_page, raw_collapsed, warning
from ledger.forms import CommentForm, ImportForm, RateForm
from ledger.matching import gateway_integration
from ledger.models import (
    LedgerEvent,
    Payout,
    PayoutLine,
    arithmetic_broken,
)


class LinesFilter(admin.SimpleListFilter):
    title = _("reconciliation")
    parameter_name = "reconciliation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("matched", _("All lines matched")),
            ("unmatched", _("Has unmatched lines")),
            ("discrepancy", _("Discrepancy")),
            ("flagged", _("Has lines that break their own arithmetic")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payout]) -> QuerySet[Payout]:
        value = self.value()
        if value == "matched":
            return queryset.exclude(lines__match=PayoutLine.Match.UNMATCHED).exclude(
                status=Payout.Status.DISCREPANCY
            )
        if value == "unmatched":
            return queryset.filter(lines__match=PayoutLine.Match.UNMATCHED).distinct()
        if value == "discrepancy":
            return queryset.filter(status=Payout.Status.DISCREPANCY)
        if value == "flagged":
            flagged = PayoutLine.objects.filter(arithmetic_broken()).values("payout_id")
            return queryset.filter(pk__in=flagged)
        return queryset


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
        return raw_collapsed(obj.raw)


class LedgerEventInline(ReadOnlyAdminMixin, admin.TabularInline[LedgerEvent, Payout]):
    model = LedgerEvent
    verbose_name_plural = _("audit trail")
    fields = ["when", "action", "user", "line", "comment"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    @admin.display(description=_("time"))
    def when(self, obj: LedgerEvent) -> str:
        return local_time(obj.created_at)


@admin.register(Payout)
class PayoutAdmin(ReconcilePermissionMixin, ReadOnlyAdminMixin, admin.ModelAdmin[Payout]):
    change_list_template = "admin/ledger/payout/change_list.html"
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
        LinesFilter,
        "connection__platform",
        "currency",
        customer_filter("connection__customer"),
    ]
    # lines__order_reference answers "which payout paid order 100234?".
    search_fields = ["reference", "connection__customer__name", "lines__order_reference"]
    date_hierarchy = "payout_date"
    show_full_result_count = False
    inlines = [PayoutLineInline, LedgerEventInline]
    actions = ["rematch", "book", "set_rate", "explain_discrepancy"]
    fields = [
        "gateway",
        "customer",
        "reference",
        "payout_date",
        "currency",
        "gross",
        "fees",
        "net",
        "bank_amount",
        "exchange_rate",
        "exchange_differences",
        "lines_net_text",
        "discrepancy_text",
        "status",
        "note",
        "booking_check",
        "limits",
        "totals_by_type",
        "all_lines",
        "source_name",
        "source_format",
        "imported",
        "voucher_links",
    ]
    readonly_fields = [
        "gateway",
        "customer",
        "exchange_differences",
        "lines_net_text",
        "discrepancy_text",
        "booking_check",
        "limits",
        "totals_by_type",
        "all_lines",
        "imported",
        "voucher_links",
    ]

    def get_urls(self) -> list[Any]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="ledger_payout_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["payout_charts"] = [
                charts.svg(totals.currency, totals.points)
                for totals in charts.weekly_totals(context["cl"].queryset)
            ]
            context["can_import"] = self.has_reconcile_permission(request)
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_reconcile_permission(request):
            raise admin.sites.PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.payout_import(
                    connection=form.cleaned_data["connection"],
                    source=upload,
                    name=upload.name,
                    provider=form.cleaned_data["provider"] or None,
                    user=request.user,
                )
            except services.ImportRejected as exc:
                form.add_error("file", str(exc))
            else:
                for message in result.already:
                    self.message_user(request, message, messages.WARNING)
                for message in result.warnings:
                    self.message_user(request, message, messages.WARNING)
                for totals in result.totals:
                    self.message_user(
                        request,
                        gettext(
                            "%(payouts)s payouts, %(lines)s lines in %(currency)s imported "
                            "(%(matched)s matched, %(unmatched)s unmatched); net %(net)s."
                        )
                        % {**totals.as_json()},
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(reverse("admin:ledger_payout_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import a settlement file"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/ledger/import_form.html", context)

    @admin.action(description=_("Match the selected payouts again"), permissions=["reconcile"])
    def rematch(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset:
            try:
                outcome = services.payout_match(payout=payout, user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
                continue
            self.message_user(
                request,
                gettext("%(payout)s: %(matched)s matched, %(unmatched)s unmatched.")
                % {
                    "payout": payout.reference,
                    "matched": outcome.matched,
                    "unmatched": outcome.unmatched,
                },
            )

    @admin.action(description=_("Book the selected payouts"), permissions=["reconcile"])
    def book(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset:
            try:
                voucher = services.payout_book(payout=payout, user=request.user)
            except services.BookingRefused as exc:
                self.message_user(request, f"{payout.reference}: {exc.reason}", messages.ERROR)
                continue
            self.message_user(
                request,
                gettext("%(payout)s booked: %(voucher)s.")
                % {"payout": payout.reference, "voucher": voucher or gettext("nothing to book")},
                messages.SUCCESS,
            )

    @admin.action(description=_("Set the exchange rate…"), permissions=["reconcile"])
    def set_rate(self, request: HttpRequest, queryset: QuerySet[Payout]) -> TemplateResponse | None:
        form = RateForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for payout in queryset:
                try:
                    services.payout_set_exchange_rate(
                        payout=payout, rate=form.cleaned_data["rate"], user=request.user
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.WARNING)
            return None
        return intermediate_page(
            request,
            self,
            queryset,
            title=gettext("Set the exchange rate"),
            form=form,
            action="set_rate",
            button=gettext("Set the rate"),
        )

    @admin.action(description=_("Explain the discrepancy…"), permissions=["reconcile"])
    def explain_discrepancy(
        self, request: HttpRequest, queryset: QuerySet[Payout]
    ) -> TemplateResponse | None:
        form = CommentForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for payout in queryset:
                try:
                    line = services.payout_explain_discrepancy(
                        payout=payout, user=request.user, comment=form.cleaned_data["comment"]
                    )
                except ValidationError as exc:
                    self.message_user(request, " ".join(exc.messages), messages.WARNING)
                    continue
                self.message_user(
                    request,
                    gettext("%(payout)s: %(difference)s explained; it can be booked now.")
                    % {"payout": payout.reference, "difference": line.net},
                    messages.SUCCESS,
                )
            return None
        return intermediate_page(
            request,
            self,
            queryset,
            title=gettext("Explain the discrepancy"),
            form=form,
            action="explain_discrepancy",
            button=gettext("Explain and keep it on the clearing account"),
        )

    @admin.display(description=_("gateway"), ordering="connection__platform")
    def gateway(self, obj: Payout) -> str:
        return f"{obj.connection.get_platform_display()} · {obj.connection.name}"

    @admin.display(description=_("customer"), ordering="connection__customer__name")
    def customer(self, obj: Payout) -> str:
        return obj.connection.customer.name

    @admin.display(description=_("exchange differences on conversions"))
    def exchange_differences(self, obj: Payout) -> SafeString | str:
        plan = AccountPlan.for_customer(obj.connection.customer)
        found = exchange.conversions(obj, plan.accounting_currency)
        if not found:
            return EMPTY
        items = []
        for conversion in found:
            difference = conversion.difference
            if difference is None:
                items.append(warning(conversion.problem()))
                continue
            account = plan.exchange_gain if difference >= 0 else plan.exchange_loss
            items.append(
                gettext(
                    "%(home)s %(home_currency)s for %(foreign)s %(currency)s booked at "
                    "%(rate)s: %(kind)s %(difference)s (%(account)s)"
                )
                % {
                    "home": money(conversion.home.gross),
                    "home_currency": conversion.home.currency,
                    "foreign": money(-conversion.foreign.gross),
                    "currency": conversion.foreign.currency,
                    "rate": conversion.rate,
                    "kind": gettext("gain") if difference >= 0 else gettext("loss"),
                    "difference": money(abs(difference)),
                    "account": account,
                }
            )
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items))
        )

    @admin.display(description=_("sum of the lines (net)"))
    def lines_net_text(self, obj: Payout) -> str:
        return money(obj.lines_net())

    @admin.display(description=_("not explained by the lines"))
    def discrepancy_text(self, obj: Payout) -> SafeString | str:
        difference = obj.discrepancy()
        return money(difference) if difference == 0 else warning(money(difference))

    @admin.display(description=_("can it be booked?"))
    def booking_check(self, obj: Payout) -> SafeString | str:
        if obj.status == Payout.Status.BOOKED:
            return gettext("Booked %(when)s.") % {"when": local_time(obj.booked_at)}
        found = booking.refusal(obj)
        return gettext("Yes.") if found is None else warning(found.reason)

    @admin.display(description=_("limits of this integration"))
    def limits(self, obj: Payout) -> SafeString | str:
        documented = booking.documented_limits(gateway_integration(obj.connection))
        if not documented:
            return EMPTY
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((t,) for t in documented))
        )

    @admin.display(description=_("totals per type"))
    def totals_by_type(self, obj: Payout) -> SafeString | str:
        rows = obj.totals_by_type()
        if not rows:
            return EMPTY
        labels = dict(PayoutLine.Type.choices)
        body = format_html_join(
            "",
            "<tr><td>{}</td>"
            '<td style="text-align:right">{}</td><td style="text-align:right">{}</td>'
            '<td style="text-align:right">{}</td><td style="text-align:right">{}</td></tr>',
            (
                (
                    labels.get(r["type"], r["type"]),
                    r["count"],
                    money(r["gross_sum"]),
                    money(r["fee_sum"]),
                    money(r["net_sum"]),
                )
                for r in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("type"),
            _("lines"),
            _("gross"),
            _("fee"),
            _("net"),
            body,
        )

    @admin.display(description=_("lines"))
    def all_lines(self, obj: Payout) -> SafeString:
        url = reverse("admin:ledger_payoutline_changelist") + f"?payout__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("All lines of this payout"))

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
