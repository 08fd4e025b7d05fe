"""What the ledger's admin pages share: small renderers, the intermediate action page, the
permission that matching, booking and handling lines need."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from billing.admin import (
    EMPTY,
    pretty_json,
)


def raw_collapsed(raw: Any) -> SafeString | str:
    if not raw:
        return EMPTY
    return format_html("<details><summary>{}</summary>{}</details>", _("show"), pretty_json(raw))


def warning(text: str) -> SafeString:
    return format_html('<strong style="color: #c62828">{}</strong>', text)


def intermediate_page(
    request, model_admin, queryset, *, title, form, action, button
) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/ledger/action_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.model._meta,
            "objects": queryset,
            "form": form,
            "action": action,
            "button": button,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        },
    )


class ReconcilePermissionMixin:
    """Matching, booking and handling lines need change permission on payouts; viewing does not."""

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.change_payout")
