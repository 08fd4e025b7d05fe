"""The customer page: the account manager's one page per customer. On top a summary (package
and since when, orders this month against the quota, service hours left, the next invoice),
below it the subscriptions, package changes, time entries and hour purchases."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from stdnum.se import orgnr

from billing import invoicing, quota, service_account, subscriptions
from billing.admin.helpers import (
    EMPTY,
    ImportExportPermissionMixin,
    ReadOnlyAdminMixin,
    hours_text,
    local_time,
)
from billing.admin.hours import FORMATS, HourPurchaseInline, TimeEntryInline, _StampUserMixin
from billing.models import (
    Customer,
    Package,
    QuotaMonth,
    Subscription,
    SubscriptionChange,
    first_of_month,
)
from billing.resources import CustomerResource


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


class SubscriptionForm(forms.ModelForm):
    """A running subscription's package changes only through "Change package", which keeps
    the history and the audit row; a new subscription picks its package here."""

    class Meta:
        model = Subscription
        fields = ["package"]  # the admin adds the fields of its own fieldsets

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "package" in self.fields:
            self.fields["package"].disabled = True
            self.fields["package"].help_text = _("Use “Change package” on the customer page.")


class SubscriptionInline(admin.TabularInline[Subscription, Customer]):
    model = Subscription
    form = SubscriptionForm
    extra = 0
    fields = [
        "package",
        "start_date",
        "notice_given_on",
        "end_date",
        "extra_shops",
        "quoted_monthly_fee",
        "quoted_installation_fee",
        "quoted_order_quota",
        "start_package_hours",
    ]
    show_change_link = True


class SubscriptionChangeInline(
    ReadOnlyAdminMixin, admin.TabularInline[SubscriptionChange, Customer]
):
    model = SubscriptionChange
    extra = 0
    fields = [
        "from_package",
        "to_package",
        "kind",
        "effective_from",
        "changed",
        "changed_by",
        "note",
    ]
    readonly_fields = fields
    verbose_name_plural = _("package changes (audit)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[SubscriptionChange]:
        return (
            super().get_queryset(request).select_related("from_package", "to_package", "changed_by")
        )

    @admin.display(description=_("changed"))
    def changed(self, obj: SubscriptionChange) -> str:
        return local_time(obj.changed_at)


class ChangePackageForm(forms.Form):
    package = forms.ModelChoiceField(Package.objects.all(), label=_("new package"))
    quoted_monthly_fee = forms.DecimalField(
        label=_("quoted monthly fee (SEK)"), required=False, min_value=0, decimal_places=2
    )
    quoted_installation_fee = forms.DecimalField(
        label=_("quoted installation fee (SEK)"), required=False, min_value=0, decimal_places=2
    )
    quoted_order_quota = forms.IntegerField(
        label=_("quoted order quota"), required=False, min_value=1
    )
    note = forms.CharField(
        label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


def customer_summary(customer: Customer, user: Any) -> dict[str, Any]:
    """What the account manager asks first, for the panel on top of the customer page."""
    today = timezone.localdate()
    usage = quota.month_usage(customer, today)
    balance = service_account.balance(customer)
    return {
        "customer": customer,
        "current": customer.current_subscription(),
        "scheduled": subscriptions.scheduled_change(customer, today),
        "usage": usage,
        "bar_percent": min(usage.percent or 0, 100),
        "balance": balance,
        "balance_text": hours_text(balance),
        "entries": service_account.latest_entries(customer, limit=5),
        "invoice": (
            invoicing.preview_next_invoice(customer)
            if user.has_perm("billing.view_feeinvoice")
            else None
        ),
        "can_change_package": user.has_perm("billing.add_subscription")
        and user.has_perm("billing.change_subscription"),
        "change_package_url": reverse("admin:billing_customer_change_package", args=[customer.pk]),
        "time_entries_url": reverse("admin:billing_timeentry_changelist")
        + f"?customer={customer.pk}",
        "today": today,
    }


@admin.register(Customer)
class CustomerAdmin(
    ImportExportPermissionMixin, _StampUserMixin, ImportExportMixin, admin.ModelAdmin[Customer]
):
    resource_classes = [CustomerResource]
    formats = FORMATS
    change_form_template = "billing/admin/customer_change_form.html"
    list_display = [
        "name",
        "organisation_number",
        "package_now",
        "orders_this_month",
        "hours_left",
        "account_manager",
        "contact",
    ]
    list_select_related = ["account_manager"]
    list_filter = [("account_manager", admin.RelatedOnlyFieldListFilter), PackageNowFilter]
    search_fields = ["name", "organisation_number", "contact_email"]
    readonly_fields = ["created_at"]
    inlines = [SubscriptionInline, SubscriptionChangeInline, TimeEntryInline, HourPurchaseInline]
    fieldsets = [
        (None, {"fields": ["name", "organisation_number", "vat_number", "account_manager"]}),
        (_("Contact"), {"fields": ["contact_name", "contact_email", "contact_phone"]}),
        (None, {"fields": ["created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        current = _current_subscriptions()
        this_month = QuotaMonth.objects.filter(
            customer=OuterRef("pk"), month=first_of_month(timezone.localdate())
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                package_now_name=Subquery(current.values("package__name")[:1]),
                package_now_code=Subquery(current.values("package__code")[:1]),
                used_this_month=Subquery(this_month.values("used")[:1]),
                **service_account.balance_annotations(),
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

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/change-package/",
                self.admin_site.admin_view(self.change_package_view),
                name="billing_customer_change_package",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        customer = self.get_object(request, unquote(object_id))
        if customer is not None:
            extra_context = {
                **(extra_context or {}),
                "summary": customer_summary(customer, request.user),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def change_package_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not (
            request.user.has_perm("billing.add_subscription")
            and request.user.has_perm("billing.change_subscription")
        ):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=unquote(object_id))
        form = ChangePackageForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                change = subscriptions.change_package(
                    customer=customer, user=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                # The model's field names are not this form's: show every message on top.
                form.add_error(None, exc.messages)
            else:
                self.message_user(
                    request,
                    gettext("%(customer)s: %(kind)s to %(package)s from %(day)s.")
                    % {
                        "customer": customer,
                        "kind": change.get_kind_display(),
                        "package": change.to_package,
                        "day": change.effective_from,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:billing_customer_change", args=[customer.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": customer,
            "title": gettext("Change package: %(customer)s") % {"customer": customer},
            "form": form,
            "current": customer.current_subscription(),
            "scheduled": subscriptions.scheduled_change(customer),
        }
        return TemplateResponse(request, "billing/admin/change_package.html", context)

    @admin.display(description=_("package now"), ordering="package_now_name")
    def package_now(self, obj: Customer) -> str | None:
        return getattr(obj, "package_now_name", None)

    @admin.display(description=_("orders this month"), ordering="used_this_month")
    def orders_this_month(self, obj: Customer) -> int:
        return getattr(obj, "used_this_month", None) or 0

    @admin.display(description=_("hours left"))
    def hours_left(self, obj: Customer) -> str:
        if not hasattr(obj, "start_hours"):
            return EMPTY
        balance = service_account.balance_of(obj)
        if balance < 0:
            return format_html('<strong style="color: #c62828">{}</strong>', hours_text(balance))
        return hours_text(balance)

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
