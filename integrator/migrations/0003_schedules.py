"""The schedules every installation needs, so a fresh database runs them without hand work."""

from django.db import migrations

SCHEDULES = [
    # name, function, minutes between runs
    ("Requeue stalled sync jobs", "integrator.tasks.requeue_stalled_jobs", 1),
    ("Transfer orders from every shop", "integrator.tasks.enqueue_order_syncs", 5),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        name__in=[name for name, _func, _minutes in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrator", "0002_job_heartbeat"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create, remove)]
