"""Subscriptions and the audit trail of package changes."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing import subscriptions
from billing.admin.customers import SubscriptionForm
from billing.admin.helpers import EMPTY, ReadOnlyAdminMixin, customer_filter, local_time
from billing.models import Subscription, SubscriptionChange


class RunningFilter(admin.SimpleListFilter):
    title = _("running")
    parameter_name = "running"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("now", _("Running today")),
            ("notice", _("Notice given")),
            ("future", _("Not started yet")),
            ("ended", _("Ended")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> QuerySet[Subscription]:
        today = timezone.localdate()
        running = Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))
        return {
            "now": lambda: queryset.filter(running),
            "notice": lambda: queryset.filter(running, notice_given_on__isnull=False),
            "future": lambda: queryset.filter(start_date__gt=today),
            "ended": lambda: queryset.filter(end_date__lt=today),
        }.get(self.value() or "", lambda: queryset)()


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    form = SubscriptionForm
    actions = ["give_notice_today"]
    list_display = [
        "customer",
        "package",
        "start_date",
        "end_date",
        "extra_shops",
        "earliest_end",
    ]
    list_select_related = ["customer", "package"]
    list_filter = [RunningFilter, "package"]
    search_fields = ["customer__name", "customer__organisation_number"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "start_date"
    readonly_fields = ["earliest_end", "contract_start", "replaces"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "customer",
                    "package",
                    "start_date",
                    "contract_start",
                    "replaces",
                    "extra_shops",
                ]
            },
        ),
        (
            _("Term and notice"),
            {
                "fields": [
                    "minimum_term_months",
                    "notice_months",
                    "notice_given_on",
                    "end_date",
                    "earliest_end",
                ]
            },
        ),
        (
            _("Premium (quoted)"),
            {"fields": ["quoted_monthly_fee", "quoted_installation_fee", "quoted_order_quota"]},
        ),
        (None, {"fields": ["start_package_hours"]}),
    ]

    @admin.display(description=_("earliest end if notice is given today"))
    def earliest_end(self, obj: Subscription) -> datetime.date | str:
        # An ended contract has no notice left to give; with notice already given this is the
        # end that notice leads to.
        if obj.pk is None or (obj.end_date and obj.end_date < timezone.localdate()):
            return EMPTY
        return obj.earliest_end_date()

    @admin.action(description=_("Give notice today"), permissions=["change"])
    def give_notice_today(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        today = timezone.localdate()
        done = 0
        for subscription in queryset.select_related("customer", "package"):
            if subscription.notice_given_on or (
                subscription.end_date and subscription.end_date < today
            ):
                continue
            try:
                subscriptions.give_notice(subscription=subscription, on=today)
            except ValidationError as exc:
                self.message_user(
                    request, f"{subscription}: {'; '.join(exc.messages)}", messages.ERROR
                )
                continue
            done += 1
            self.log_change(
                request,
                subscription,
                gettext("Notice given; ends %(day)s.") % {"day": subscription.end_date},
            )
        self.message_user(
            request,
            ngettext(
                "Notice given on %(count)d subscription.",
                "Notice given on %(count)d subscriptions.",
                done,
            )
            % {"count": done},
        )


@admin.register(SubscriptionChange)
class SubscriptionChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[SubscriptionChange]):
    list_display = [
        "customer",
        "from_package",
        "to_package",
        "kind",
        "effective_from",
        "changed",
        "changed_by",
    ]
    list_select_related = ["customer", "from_package", "to_package", "changed_by"]
    list_filter = ["kind", customer_filter("customer")]
    search_fields = ["customer__name", "customer__organisation_number", "note"]
    date_hierarchy = "effective_from"
    fields = [
        "customer",
        "subscription",
        "kind",
        "from_package",
        "to_package",
        "effective_from",
        "changed",
        "changed_by",
        "note",
    ]
    readonly_fields = fields

    @admin.display(description=_("changed"), ordering="changed_at")
    def changed(self, obj: SubscriptionChange) -> str:
        return local_time(obj.changed_at)
