"""A daily schedule that forgets webhook ids past the shops' redelivery window."""

from django.db import migrations

NAME = "Forget old webhook ids"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME,
        defaults={
            "func": "integrator.tasks.prune_webhook_events",
            "schedule_type": "D",
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("integrator", "0007_trigger_statuses_per_shop")]
    operations = [migrations.RunPython(create, remove)]
