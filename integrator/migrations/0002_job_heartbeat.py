from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integrator", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="syncjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last sign of life"),
        ),
    ]
