"""The staff roles "Support" and "Account manager" as groups (billing/roles.py says what each
may see and change). Depends on every app the roles name, so their models exist here."""

from django.db import migrations

from billing.roles import apply_roles, remove_roles


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0003_service_account_quota_invoices"),
        ("shops", "0001_initial"),
        ("integrator", "0001_initial"),
        ("ledger", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(apply_roles, remove_roles)]
