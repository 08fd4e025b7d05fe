"""The few admin helpers every app's admin uses. Billing is the bottom layer (DESIGN.md
section 5), so shops, integrator and ledger may all import them (from billing.admin)."""

from __future__ import annotations

import datetime
import json
import zoneinfo
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from billing.export_formats import formula_safe
from billing.models import Customer

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


def hours_text(value: Decimal | None) -> str:
    return EMPTY if value is None else f"{number_format(value, 2)} h"


class ImportExportPermissionMixin:
    """django-import-export lets anybody with admin access import unless a setting says
    otherwise: here importing needs add and change permission, exporting view permission. And
    what is exported cannot run as a spreadsheet formula (billing/export_formats.py)."""

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)  # type: ignore[attr-defined]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)  # type: ignore[attr-defined]

    def get_data_for_export(self, request: HttpRequest, queryset: Any, **kwargs: Any) -> Any:
        # Every export of every format: names from shops must not run as spreadsheet formulas.
        dataset = super().get_data_for_export(request, queryset, **kwargs)  # type: ignore[misc]
        return formula_safe(dataset)
