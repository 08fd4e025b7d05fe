"""`manage.py seed_demo`: idempotent demo data that matches the sandbox's own demo data.

Three merchants on different packages, their connections pointing at SANDBOX_URL, their
integrations and a little history (the schedule that polls orders comes with the migrations).
Running it again changes nothing that is already there (it only points the connections at the
current SANDBOX_URL).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from billing.models import Customer, Package, Subscription
from integrator.models import Integration, SyncItem, SyncJob
from shops.models import Connection
from shops.sandbox import demo_data, gateway_data, shopify_data

ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin"

CUSTOMERS = [
    # organisation number, name, package, extra shops, contact, the sandbox's tenant for them
    (
        "556804-3219",
        "Norrsken Hem & Kök AB",
        "200",
        0,
        ("Karin Lindqvist", "karin@norrsken.example"),
        "norrsken",
    ),
    (
        "556677-8899",
        "Fjällmode AB",
        "400",
        1,
        ("Johan Berg", "johan@fjallmode.example"),
        "fjallmode",
    ),
    (
        "556123-4567",
        "Kaffebönan AB",
        "100",
        0,
        ("Sara Ek", "sara@kaffebonan.example"),
        "kaffebonan",
    ),
]


class Command(BaseCommand):
    help = "Creates (idempotently) demo customers, connections to the sandbox and integrations."

    @transaction.atomic
    def handle(self, *args, **options):
        sandbox = settings.SANDBOX_URL.rstrip("/")
        admin = self.admin = self._admin()
        books, fashion, coffee = (self._customer(admin, *row) for row in CUSTOMERS)

        # 1. A Jetshop shop on package 200, flow 2 (Visma is master; orders go to Visma).
        jetshop = self._connection(books, "Jetshop", "jetshop", sandbox)
        books_visma = self._connection(books, "Visma eEkonomi", "visma", sandbox)
        books_flow = self._integration(
            books, "Jetshop ↔ Visma", Integration.Flow.ERP_MASTER, books_visma, [jetshop]
        )

        # 2. Shopify + WooCommerce multishop on package 400, with Shopify Payments reconciled.
        shopify = self._connection(fashion, "Shopify", "shopify", sandbox)
        woo = self._connection(fashion, "WooCommerce", "woocommerce", sandbox)
        # Its Visma company knows the articles both shops sell (the sandbox's "fjallmode-shops").
        fashion_visma = self._connection(
            fashion, "Visma eEkonomi", "visma", sandbox, tenant=demo_data.FJALLMODE_SHOPS
        )
        payments = self._connection(fashion, "Shopify Payments", "shopify_payments", sandbox)
        multishop = self._integration(
            fashion, "Multishop ↔ Visma", Integration.Flow.COMBO, fashion_visma, [shopify, woo]
        )
        # Shopify's API shows no VAT rate per product: support staff tell the integration the
        # shop's own set-up (25 % in Sweden, books at 6 % by a tax override on "Böcker").
        multishop.options.setdefault(
            "shopify_vat_rates",
            {
                "default": str(shopify_data.STANDARD_VAT),
                "product_types": {t: str(r) for t, r in shopify_data.TAX_OVERRIDES.items()},
            },
        )
        multishop.save(update_fields=["options"])
        self._integration(
            fashion, "Shopify Pay", Integration.Flow.GATEWAY_BASIC, fashion_visma, [], payments
        )

        # 3. Klarna Plus on package 100: no webshop, payouts booked per order.
        coffee_visma = self._connection(coffee, "Visma eEkonomi", "visma", sandbox)
        klarna = self._connection(coffee, "Klarna", "klarna", sandbox)
        self._integration(
            coffee, "Klarna Plus", Integration.Flow.GATEWAY_PLUS, coffee_visma, [], klarna
        )

        self._history(books_flow)
        self._seed_ledger(coffee, klarna)
        self._seed_ledger(fashion, payments)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Customer.objects.count()} customers, "
                f"{Connection.objects.count()} connections pointing at {sandbox}. "
                f"Admin login: {ADMIN_USERNAME} / {ADMIN_PASSWORD}"
            )
        )

    def _admin(self):
        User = get_user_model()
        admin, created = User.objects.get_or_create(
            username=ADMIN_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.se"},
        )
        if created:
            admin.set_password(ADMIN_PASSWORD)
            admin.save()
        return admin

    def _customer(
        self, manager, org_number, name, package_code, extra_shops, contact, tenant
    ) -> Customer:
        self.tenants = getattr(self, "tenants", {})
        customer, _ = Customer.objects.get_or_create(
            organisation_number=org_number,
            defaults={
                "name": name,
                "contact_name": contact[0],
                "contact_email": contact[1],
                "account_manager": manager,
            },
        )
        if not customer.subscriptions.exists():
            Subscription.objects.create(
                customer=customer,
                package=Package.objects.get(code=package_code),
                start_date=datetime.date(2026, 1, 1),
                extra_shops=extra_shops,
                start_package_hours=Decimal("3"),
            )
        self.tenants[customer.pk] = tenant
        return customer

    def _connection(self, customer, name, platform, sandbox, tenant="") -> Connection:
        """A connection to the sandbox's copy of `platform`, as the customer's tenant there."""
        try:
            base_url, credentials = demo_data.demo_connection_any(
                platform, tenant or self.tenants[customer.pk], sandbox
            )
        except LookupError:
            # The sandbox has no copy of this system for the tenant yet: the connection is
            # listed, but stays unchecked and is never polled (no client claims it).
            base_url, credentials = f"{sandbox}/{platform}", {}
        connection, created = Connection.objects.get_or_create(
            customer=customer, name=name, defaults={"platform": platform, "base_url": base_url}
        )
        if created or connection.base_url != base_url:
            connection.base_url = base_url
            connection.credentials = credentials
            connection.save()
        return connection

    def _integration(self, customer, name, flow, erp, shops, gateway=None) -> Integration:
        defaults = {"flow": flow, "erp": erp, "gateway": gateway}
        if gateway is not None:
            # The sandbox's payouts start on a fixed day; booking begins there, however long ago.
            defaults["options"] = {"payouts_since": gateway_data.FIRST_SALES_DAY.isoformat()}
        integration, created = Integration.objects.get_or_create(
            customer=customer, name=name, defaults=defaults
        )
        if created:
            integration.shops.set(shops)
        return integration

    def _history(self, integration: Integration) -> None:
        """Two finished jobs from yesterday, so the admin has something to show at once."""
        if integration.jobs.exists():
            return
        yesterday = timezone.now() - datetime.timedelta(days=1)
        ok = SyncJob.objects.create(
            integration=integration,
            kind=SyncJob.Kind.STOCK,
            status=SyncJob.Status.SUCCEEDED,
            trigger=SyncJob.Trigger.SCHEDULE,
            created_at=yesterday,
            started_at=yesterday,
            finished_at=yesterday + datetime.timedelta(seconds=42),
            attempts=1,
            progress_done=3,
            progress_total=3,
            transferred=3,
        )
        for sku in ("BOK-1001", "BOK-1002", "KAFFE-500"):
            SyncItem.objects.create(
                job=ok, object_type="stock", key=sku, outcome=SyncItem.Outcome.TRANSFERRED
            )
        later = yesterday + datetime.timedelta(hours=3)
        failed = SyncJob.objects.create(
            integration=integration,
            kind=SyncJob.Kind.PRICES,
            status=SyncJob.Status.FAILED,
            trigger=SyncJob.Trigger.SCHEDULE,
            created_at=later,
            started_at=later,
            finished_at=later + datetime.timedelta(seconds=5),
            attempts=1,
            error="Visma eEkonomi answered 429 Too Many Requests (ErrorCode 4010): the "
            "request limit was reached. The next scheduled run will try again.",
            error_detail={
                "request": {
                    "method": "GET",
                    "url": f"{integration.erp.base_url}/v2/articles?$page=3&$pagesize=100",
                    "headers": {"Authorization": "[redacted]"},
                },
                "response": {
                    "status": 429,
                    "body": {
                        "ErrorCode": 4010,
                        "DeveloperErrorMessage": "Too many requests",
                        "ErrorId": "b8e5f1a0-demo",
                    },
                },
            },
        )
        # Support retried it from the admin ten minutes later, and it went through.
        retried = later + datetime.timedelta(minutes=10)
        SyncJob.objects.create(
            integration=integration,
            kind=SyncJob.Kind.PRICES,
            status=SyncJob.Status.SUCCEEDED,
            trigger=SyncJob.Trigger.RETRY,
            retry_of=failed,
            started_by=self.admin,
            created_at=retried,
            started_at=retried,
            finished_at=retried + datetime.timedelta(seconds=7),
            attempts=1,
            progress_done=8,
            progress_total=8,
            transferred=8,
        )

    def _seed_ledger(self, customer: Customer, gateway: Connection) -> None:
        # The ledger sits above this app in the layering; the demo is the one place that seeds
        # every layer, so it reaches up here, lazily, rather than the ledger reaching down.
        from ledger.demo import seed_demo_payouts

        seed_demo_payouts(customer=customer, gateway=gateway)
