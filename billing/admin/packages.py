"""Packages: from the product sheet, changed only by superusers."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.admin.helpers import money
from billing.models import Package

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
