"""Admin for our own business: packages, customers (the account manager's page), subscriptions,
the service account, quota use and fee invoices.

The shared helpers every app's admin uses are importable from here (`from billing.admin import
local_time`); they live in billing/admin/helpers.py.
"""

# Importing the modules registers their ModelAdmins.
from billing.admin import customers, hours, invoices, packages, subscriptions, usage  # noqa: E402, I001
from billing.admin.helpers import (
    EMPTY,
    STOCKHOLM,
    ImportExportPermissionMixin,
    LimitedInlineFormSet,
    ReadOnlyAdminMixin,
    customer_filter,
    hours_text,
    local_time,
    money,
    pretty_json,
)

__all__ = [
    "EMPTY",
    "STOCKHOLM",
    "ImportExportPermissionMixin",
    "LimitedInlineFormSet",
    "ReadOnlyAdminMixin",
    "customer_filter",
    "customers",
    "hours",
    "hours_text",
    "invoices",
    "local_time",
    "money",
    "packages",
    "pretty_json",
    "subscriptions",
    "usage",
]
