"""The schedule that fetches and books payouts: once an hour, one "payouts" job per enabled
gateway integration (ledger.tasks.enqueue_payout_fetches). Gateways pay out once a day; an hourly
run picks a payout up soon after it lands, and a run that finds nothing new costs a list call."""

from django.db import migrations

NAME = "Fetch and book gateway payouts"
FUNC = "ledger.tasks.enqueue_payout_fetches"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME, defaults={"func": FUNC, "schedule_type": "I", "minutes": 60, "repeats": -1}
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_plus_invoice_settings"),
        ("django_q", "0018_task_success_index"),
    ]
    operations = [migrations.RunPython(create, remove)]
