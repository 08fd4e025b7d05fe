"""The five packages exactly as the product sheet (DESIGN.md section 3) lists them."""

from decimal import Decimal

from django.db import migrations

PACKAGES = [
    # code, name, monthly, installation, quota, order_status, stock, price_lists, plugins,
    # multishop, key account manager
    ("100", "Paket 100", "295", "2200", 100, False, False, False, False, False, False),
    ("200", "Paket 200", "495", "4200", 200, True, True, False, False, False, False),
    ("400", "Paket 400", "795", "6400", 400, True, True, True, False, True, False),
    ("800", "Paket 800", "1195", "8500", 800, True, True, True, True, True, False),
    ("premium", "Premium", None, None, None, True, True, True, True, True, True),
]


def load_packages(apps, schema_editor):
    Package = apps.get_model("billing", "Package")
    for rank, row in enumerate(PACKAGES, start=1):
        code, name, monthly, installation, quota, *features = row
        status, stock, price_lists, plugins, multishop, kam = features
        Package.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name,
                monthly_fee=Decimal(monthly) if monthly else None,
                installation_fee=Decimal(installation) if installation else None,
                order_quota=quota,
                order_status=status,
                stock=stock,
                price_lists=price_lists,
                plugins=plugins,
                multishop=multishop,
                key_account_manager=kam,
                rank=rank,
            ),
        )


def unload_packages(apps, schema_editor):
    apps.get_model("billing", "Package").objects.filter(code__in=[p[0] for p in PACKAGES]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(load_packages, unload_packages)]
