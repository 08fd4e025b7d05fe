"""Re-applies the staff roles (billing/roles.py) now that the settlement ledger has more models:
account plans, customer-ledger items, allocations, imported files and the audit trail."""

from django.db import migrations

from billing.roles import apply_roles, remove_roles


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_roles"),
        ("ledger", "0004_payout_schedule"),
    ]
    operations = [migrations.RunPython(apply_roles, remove_roles)]
