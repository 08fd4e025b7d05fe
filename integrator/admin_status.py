"""Admin for the merchants' status pages: issue and rotate secret links, merchant logins, and
the notices sent. Registered from integrator/admin.py."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from billing.admin import ReadOnlyAdminMixin, local_time
from integrator.models import MerchantAccess, Notice, StatusPage
from integrator.status import status_link


@admin.register(StatusPage)
class StatusPageAdmin(admin.ModelAdmin[StatusPage]):
    """A link is shown once, on a page of its own (not in a message, which would keep it in a
    cookie): only its hash is stored."""

    list_display = ["customer", "issued", "rotated_by", "created_at"]
    list_select_related = ["customer", "rotated_by"]
    search_fields = ["customer__name", "customer__organisation_number"]
    autocomplete_fields = ["customer"]
    actions = ["rotate_links"]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: StatusPage | None = None) -> Any:
        if obj is None:
            return []
        return ["customer", "rotated_at", "rotated_by", "created_at"]

    def get_fields(self, request: HttpRequest, obj: StatusPage | None = None) -> Any:
        if obj is None:
            return ["customer"]
        return ["customer", "rotated_at", "rotated_by", "created_at"]

    @admin.display(description=_("link issued"), ordering="rotated_at")
    def issued(self, obj: StatusPage) -> str:
        return local_time(obj.rotated_at)

    def save_model(self, request: HttpRequest, obj: StatusPage, form: Any, change: bool) -> None:
        if change:
            return
        page, token = StatusPage.issue(obj.customer, by=request.user)
        obj.pk, obj._state.adding = page.pk, False
        request._new_status_links = [(page, status_link(token, request.build_absolute_uri("/")))]  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: StatusPage, post_url_continue: Any = None
    ) -> HttpResponse:
        return self._show_links(request, getattr(request, "_new_status_links", []))

    @admin.action(
        description=_("Rotate the status link (the old link stops working at once)"),
        permissions=["change"],
    )
    def rotate_links(self, request: HttpRequest, queryset: QuerySet[StatusPage]) -> HttpResponse:
        links = []
        for page in queryset.select_related("customer"):
            page, token = StatusPage.issue(page.customer, by=request.user)
            links.append((page, status_link(token, request.build_absolute_uri("/"))))
        return self._show_links(request, links)

    def _show_links(
        self, request: HttpRequest, links: list[tuple[StatusPage, str]]
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("New status page links"),
            "links": links,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "status/admin_new_links.html", context)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


@admin.register(MerchantAccess)
class MerchantAccessAdmin(admin.ModelAdmin[MerchantAccess]):
    list_display = ["user", "customer", "created_at"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__username", "user__email", "customer__name"]
    autocomplete_fields = ["user", "customer"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Notice]):
    list_display = ["kind", "key", "customer", "recipients", "created_at", "sent_at"]
    list_filter = ["kind"]
    list_select_related = ["customer"]
    search_fields = ["key", "customer__name", "recipients"]
    show_full_result_count = False
