"""Webhooks received from shops (deduplicated by the shop's webhook id), and the schedules that
keep stock and order statuses moving from the ERP to the shops.

No extra re-poll for lost webhooks: "Transfer orders from every shop" (0003) already queues an
order transfer for every enabled shop integration every five minutes, which is that re-poll."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

SCHEDULES = [
    # name, function, minutes between runs
    ("Push stock to every shop", "integrator.flows.stock.enqueue_stock_syncs", 15),
    (
        "Send order statuses to every shop",
        "integrator.flows.order_status.enqueue_order_status_syncs",
        10,
    ),
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
    dependencies = [
        ("integrator", "0004_status_page"),
        ("shops", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("webhook_id", models.CharField(max_length=100, verbose_name="webhook id")),
                ("topic", models.CharField(blank=True, max_length=100, verbose_name="topic")),
                (
                    "received_at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        verbose_name="received",
                    ),
                ),
                (
                    "jobs",
                    models.JSONField(blank=True, default=list, verbose_name="jobs queued"),
                ),
                (
                    "connection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="shops.connection",
                        verbose_name="connection",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook event",
                "verbose_name_plural": "webhook events",
                "ordering": ["-received_at"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("connection", "webhook_id"), name="one_event_per_webhook_id"
                    )
                ],
            },
        ),
        migrations.RunPython(create, remove),
    ]
