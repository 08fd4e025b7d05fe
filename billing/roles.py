"""The staff roles, as groups of model permissions. Applied by data migrations
(billing/migrations/0004_roles.py, again in 0005_roles_ledger.py for the ledger's new models);
tests/billing/test_roles.py checks each role.

Superusers need no group: they alone may change packages (billing.admin.packages). Credentials
are never shown to anybody, whatever their role (shops/admin.py keeps them write-only).
"""

from __future__ import annotations

from typing import Any

SUPPORT = "Support"
ACCOUNT_MANAGER = "Account manager"

VIEW = ("view",)
EDIT = ("view", "add", "change")
EDIT_DELETE = ("view", "add", "change", "delete")

# role → {"app_label.model": actions}
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    SUPPORT: {
        # Set up connections and integrations, watch jobs, retry and cancel them ("change" is
        # the retry permission in integrator/admin.py), read payouts and replay them.
        "shops.connection": EDIT,
        "integrator.integration": EDIT,
        "integrator.syncjob": ("view", "change"),
        "integrator.syncitem": VIEW,
        "integrator.link": VIEW,
        "integrator.cursor": VIEW,
        "ledger.payout": ("view", "change"),
        "ledger.payoutline": ("view", "change"),
        "ledger.ledgeritem": ("view", "change"),
        "ledger.allocation": VIEW,
        "ledger.importedfile": VIEW,
        "ledger.ledgerevent": VIEW,
        "ledger.accountplan": EDIT,
        "ledger.voucher": VIEW,
        "ledger.voucherrow": VIEW,
        "django_q.task": VIEW,
        "django_q.success": VIEW,
        "django_q.failure": VIEW,
        "django_q.schedule": VIEW,
        "django_q.ormq": VIEW,
        # Who the customer is and what they have, to pick them in a connection; no billing edits.
        "billing.customer": VIEW,
        "billing.subscription": VIEW,
        "billing.package": VIEW,
    },
    ACCOUNT_MANAGER: {
        "billing.customer": EDIT,
        "billing.subscription": EDIT,
        "billing.subscriptionchange": VIEW,
        "billing.package": VIEW,
        "billing.timeentry": EDIT_DELETE,
        "billing.hourpurchase": EDIT_DELETE,
        "billing.feeinvoice": ("view", "change"),
        "billing.feeinvoiceline": VIEW,
        "billing.quotamonth": VIEW,
        "billing.quotawarning": VIEW,
        "billing.transferredorder": VIEW,
        # Follow their customers' integrations and jobs, read-only.
        "integrator.integration": VIEW,
        "integrator.syncjob": VIEW,
        "integrator.syncitem": VIEW,
    },
}

APPS_WITH_ROLES = sorted({key.split(".")[0] for role in ROLES.values() for key in role})


def apply_roles(apps: Any, schema_editor: Any = None) -> None:
    """Create the groups with exactly the permissions above (again, when re-applied).

    Inside a migration post_migrate has not run yet, so the permissions of the apps the roles
    name may not exist: they are created first, from the migration's historical models."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for label in APPS_WITH_ROLES:
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in ROLES.items():
        wanted = [
            (app_label, f"{action}_{model}")
            for key, actions in grants.items()
            for app_label, model in [key.split(".")]
            for action in actions
        ]
        # An earlier migration that applies the roles runs before later models exist: their
        # permissions are skipped then, and the migration that follows them applies them.
        permissions = [
            found
            for app_label, codename in wanted
            if (
                found := Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).first()
            )
        ]
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def remove_roles(apps: Any, schema_editor: Any = None) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()
