"""Admin for our own business: packages, customers and their subscriptions (account managers).

The top of this module also holds the few admin helpers every app's admin uses. Billing is the
bottom layer (DESIGN.md section 5), so shops, integrator and ledger may all import from here.
"""

from __future__ import annotations

import datetime
import json
import zoneinfo
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from stdnum.se import orgnr

from billing.models import Customer, Package, Subscription

# --- Shared admin helpers ----------------------------------------------------------------------

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
# What a display method returns for "nothing". The change page's read-only fields print a None
# as "None" (only the changelist turns it into the dash), so the helpers return this instead.
EMPTY = admin.site.empty_value_display


def local_time(value: datetime.datetime | None, *, seconds: bool = False) -> str:
    """A moment as support staff read it: Stockholm wall-clock time, ISO order in any language."""
    if value is None:
        return EMPTY
    return timezone.localtime(value, STOCKHOLM).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    )


def money(value: Decimal | None) -> str:
    return EMPTY if value is None else number_format(value, 2)


def pretty_json(value: Any) -> SafeString | str:
    """JSON indented in a <pre>; format_html escapes it, so a vendor's HTML error page is text."""
    if value in (None, "", {}, []):
        return EMPTY
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html(
        '<pre style="white-space: pre-wrap; max-height: 30em; overflow: auto; margin: 0">{}</pre>',
        text,
    )


class ReadOnlyAdminMixin:
    """For records written only by the engine or the importers: viewing, never editing."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LimitedInlineFormSet(BaseInlineFormSet):
    """Shows at most `limit` related rows: a job or payout can have thousands, and an inline
    renders every one of them. Only for read-only inlines (a slice cannot be saved back)."""

    limit = 200

    def get_queryset(self) -> QuerySet[Any]:
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.limit]
        return self._limited_queryset


def customer_filter(path: str) -> type[admin.SimpleListFilter]:
    """A "customer" filter for a model that reaches Customer through `path`
    (e.g. "integration__customer"); lists customers by name, one small query."""

    class CustomerFilter(admin.SimpleListFilter):
        title = _("customer")
        parameter_name = "customer"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(str(pk), name) for pk, name in Customer.objects.values_list("pk", "name")]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            if self.value():
                return queryset.filter(**{f"{path}_id": self.value()})
            return queryset

    return CustomerFilter


# --- Packages ----------------------------------------------------------------------------------


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin[Package]):
    # The packages come from the product sheet through a data migration; changing one changes
    # every customer's price, so only superusers may touch them.
    list_display = [
        "name",
        "code",
        "monthly",
        "installation",
        "quota",
        "order_status",
        "stock",
        "price_lists",
        "plugins",
        "multishop",
        "key_account_manager",
    ]
    ordering = ["rank"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Package | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Package | None = None) -> bool:
        return request.user.is_superuser

    @admin.display(description=_("monthly fee (SEK)"), ordering="monthly_fee")
    def monthly(self, obj: Package) -> str:
        return str(_("quote")) if obj.monthly_fee is None else money(obj.monthly_fee)

    @admin.display(description=_("installation fee (SEK)"), ordering="installation_fee")
    def installation(self, obj: Package) -> str:
        return str(_("quote")) if obj.installation_fee is None else money(obj.installation_fee)

    @admin.display(description=_("orders / month"), ordering="order_quota")
    def quota(self, obj: Package) -> str:
        return str(obj.order_quota) if obj.order_quota is not None else str(_("quote"))


# --- Customers ---------------------------------------------------------------------------------


def _current_subscriptions() -> QuerySet[Subscription]:
    """The subscriptions running today for the customer of the outer query, newest first
    (the same rule as Customer.current_subscription, as a subquery for the changelist)."""
    today = timezone.localdate()
    return (
        Subscription.objects.filter(customer=OuterRef("pk"), start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .order_by("-start_date")
    )


class PackageNowFilter(admin.SimpleListFilter):
    title = _("package now")
    parameter_name = "package"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        packages = [(code, name) for code, name in Package.objects.values_list("code", "name")]
        return [*packages, ("none", _("No running subscription"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        # package_now_code is annotated by CustomerAdmin.get_queryset.
        if self.value() == "none":
            return queryset.filter(package_now_code__isnull=True)
        if self.value():
            return queryset.filter(package_now_code=self.value())
        return queryset


class SubscriptionInline(admin.TabularInline[Subscription, Customer]):
    model = Subscription
    extra = 0
    fields = [
        "package",
        "start_date",
        "notice_given_on",
        "end_date",
        "extra_shops",
        "quoted_monthly_fee",
        "quoted_order_quota",
    ]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["name", "organisation_number", "package_now", "account_manager", "contact"]
    list_select_related = ["account_manager"]
    list_filter = [("account_manager", admin.RelatedOnlyFieldListFilter), PackageNowFilter]
    search_fields = ["name", "organisation_number", "contact_email"]
    readonly_fields = ["created_at"]
    inlines = [SubscriptionInline]
    fieldsets = [
        (None, {"fields": ["name", "organisation_number", "vat_number", "account_manager"]}),
        (_("Contact"), {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        (None, {"fields": ["created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        current = _current_subscriptions()
        return (
            super()
            .get_queryset(request)
            .annotate(
                package_now_name=Subquery(current.values("package__name")[:1]),
                package_now_code=Subquery(current.values("package__code")[:1]),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        # Org numbers are stored as NNNNNN-NNNN; people paste them with or without the dash.
        term = search_term.strip()
        if orgnr.is_valid(term):
            term = orgnr.format(term)
        return super().get_search_results(request, queryset, term)

    @admin.display(description=_("package now"), ordering="package_now_name")
    def package_now(self, obj: Customer) -> str | None:
        return getattr(obj, "package_now_name", None)

    @admin.display(description=_("contact"), ordering="contact_name")
    def contact(self, obj: Customer) -> str | None:
        if obj.contact_email:
            return format_html(
                '{} <a href="mailto:{}">{}</a>',
                obj.contact_name,
                obj.contact_email,
                obj.contact_email,
            )
        return obj.contact_name or None


# --- Subscriptions -----------------------------------------------------------------------------


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
    readonly_fields = ["earliest_end"]
    fieldsets = [
        (None, {"fields": ["customer", "package", "start_date", "extra_shops"]}),
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
