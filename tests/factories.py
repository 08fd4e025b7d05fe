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


def connection(
    owner: Customer, platform: str, base_url: str = "http://127.0.0.1:9/x", **fields: Any
) -> Connection:
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


def integration(
    owner: Customer, erp: Connection, shops: list[Connection], **fields: Any
) -> Integration:
    created = Integration.objects.create(
        customer=owner,
        name=fields.pop("name", "Webbshop → Visma"),
        flow=fields.pop("flow", Integration.Flow.ERP_MASTER),
        erp=erp,
        **fields,
    )
    created.shops.set(shops)
    return created


# --- Billing: subscriptions, the service account, staff in their roles -------------------------


def subscribed_customer(
    package_code: str = "200", start: datetime.date = datetime.date(2026, 1, 1), **subscription: Any
) -> Customer:
    """A customer with one subscription from `start`; premium needs its quoted_* fields."""
    created = customer(package_code="")
    Subscription.objects.create(
        customer=created,
        package=Package.objects.get(code=package_code),
        start_date=start,
        **subscription,
    )
    return created


def staff_user(username: str, *, role: str = "", **fields: Any):
    """A staff user, in the group of `role` ("Support", "Account manager") when given."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(
        username, email=fields.pop("email", f"{username}@example.se"), is_staff=True, **fields
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def time_entry(owner: Customer, hours: str, *, staff, **fields: Any):
    from decimal import Decimal

    from billing.models import TimeEntry

    return TimeEntry.objects.create(
        customer=owner,
        hours=Decimal(hours),
        staff=staff,
        date=fields.pop("date", datetime.date(2026, 3, 10)),
        category=fields.pop("category", TimeEntry.Category.QUALIFIED_SUPPORT),
        description=fields.pop("description", "Support"),
        **fields,
    )


def hour_purchase(owner: Customer, hours: str, price: str, **fields: Any):
    from decimal import Decimal

    from billing.models import HourPurchase

    return HourPurchase.objects.create(
        customer=owner,
        hours=Decimal(hours),
        price=Decimal(price),
        date=fields.pop("date", datetime.date(2026, 3, 5)),
        **fields,
    )


def organisation_number(n: int) -> str:
    """The n-th of as many valid organisation numbers as a test needs (5590NNNNN + check digit)."""
    from stdnum import luhn
    from stdnum.se import orgnr

    digits = f"5590{n:05d}"
    return orgnr.format(digits + luhn.calc_check_digit(digits))


# --- Settlement ledger (tests/ledger) --------------------------------------------------------


def gateway_integration(
    owner: Customer, platform: str, flow: str = "plus", **fields: Any
) -> Integration:
    """A Plus or Basic/Pay integration: the customer's Visma and one payment gateway."""
    erp = fields.pop("erp", None) or connection(owner, "visma", name=f"Visma {platform}")
    gateway = connection(owner, platform, name=fields.pop("gateway_name", platform.title()))
    return integration(
        owner,
        erp,
        [],
        flow=flow,
        gateway=gateway,
        name=fields.pop("name", f"{platform.title()} {flow}"),
        **fields,
    )


def order_link(integration: Integration, shop: Connection, number: str, **fields: Any):
    """An order the webshop integration transferred: `WEB-<shop id>-<number>` in Visma."""
    from integrator.models import Link

    return Link.objects.create(
        integration=integration,
        entity="order",
        source_connection=shop,
        source_id=fields.pop("source_id", f"internal-{number}"),
        target_connection=integration.erp,
        target_id=fields.pop("target_id", f"invoice-{number}"),
        natural_key=f"WEB-{shop.pk}-{number}",
        state=fields.pop("state", Link.State.DONE),
        **fields,
    )
