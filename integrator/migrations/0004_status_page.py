"""The merchant's status page (issue 7): secret links, merchant logins, notices sent, and the
daily error digest to support as a schedule."""

import datetime
import zoneinfo

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

DIGEST = "Daily error digest to support"
DIGEST_FUNC = "integrator.notices.send_error_digest"
STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")


def next_morning(now: datetime.datetime) -> datetime.datetime:
    """07:00 in Stockholm, the next time it comes: support reads the digest when they start."""
    local = now.astimezone(STOCKHOLM)
    run = local.replace(hour=7, minute=0, second=0, microsecond=0)
    if run <= local:
        run = (run + datetime.timedelta(days=1)).replace(hour=7)
    return run


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=DIGEST,
        defaults={
            "func": DIGEST_FUNC,
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_morning(django.utils.timezone.now()),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=DIGEST).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("integrator", "0003_schedules"),
        ("shops", "0001_initial"),
        ("django_q", "0018_task_success_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MerchantAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="merchant_users",
                        to="billing.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="merchant_access",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "merchant login",
                "verbose_name_plural": "merchant logins",
                "ordering": ["customer__name"],
            },
        ),
        migrations.CreateModel(
            name="StatusPage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token_prefix", models.CharField(editable=False, max_length=10, unique=True)),
                ("token_hash", models.CharField(editable=False, max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                (
                    "rotated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="link issued"
                    ),
                ),
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="status_page",
                        to="billing.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "rotated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="issued by",
                    ),
                ),
            ],
            options={
                "verbose_name": "status page link",
                "verbose_name_plural": "status page links",
                "ordering": ["customer__name"],
            },
        ),
        migrations.CreateModel(
            name="Notice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("error_digest", "Daily error digest to support"),
                            ("needs_merchant", "Connection needs the merchant"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                ("key", models.CharField(max_length=100, verbose_name="key")),
                ("subject", models.CharField(blank=True, max_length=300, verbose_name="subject")),
                (
                    "recipients",
                    models.CharField(
                        blank=True,
                        help_text="Empty when there was nobody to mail or the mail server failed.",
                        max_length=500,
                        verbose_name="e-mailed to",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="created"),
                ),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent")),
                (
                    "connection",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="shops.connection",
                        verbose_name="connection",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="billing.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "notice",
                "verbose_name_plural": "notices",
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("kind", "key"), name="one_notice_per_kind_and_key"
                    )
                ],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
