"""Small builders for test data, named after the business. Plain functions, no magic."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from billing.models import Customer, Package, Subscription
from integrator.models import Integration
from shops.models import Connection

# Valid Swedish organisation numbers (Luhn), one per test customer.
ORGANISATION_NUMBERS = ["556036-0793", "556677-8899", "556123-4567", "556016-0680", "556703-7485"]
_sequence = itertools.count()


def customer(name: str = "", package_code: str = "200", **fields: Any) -> Customer:
    n = next(_sequence)
    created = Customer.objects.create(
        name=name or f"Butik {n} AB",
        organisation_number=fields.pop(
            "organisation_number", ORGANISATION_NUMBERS[n % len(ORGANISATION_NUMBERS)]
        ),
        contact_email=fields.pop("contact_email", f"kontakt{n}@example.se"),
        **fields,
    )
    if package_code:
        Subscription.objects.create(
            customer=created,
            package=Package.objects.get(code=package_code),
            start_date=datetime.date(2026, 1, 1),
        )
    return created


def connection(owner: Customer, platform: str, base_url: str = "http://127.0.0.1:9/x", **fields: Any) -> Connection:
    credentials = fields.pop("credentials", {})
    created = Connection(
        customer=owner,
        name=fields.pop("name", platform.title()),
        platform=platform,
        base_url=base_url,
        **fields,
    )
    created.credentials = credentials
    created.save()
    return created


def integration(owner: Customer, erp: Connection, shops: list[Connection], **fields: Any) -> Integration:
    created = Integration.objects.create(
        customer=owner,
        name=fields.pop("name", "Webbshop → Visma"),
        flow=fields.pop("flow", Integration.Flow.ERP_MASTER),
        erp=erp,
        **fields,
    )
    created.shops.set(shops)
    return created
