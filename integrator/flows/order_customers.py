"""The buyer of an order as a Visma customer: matched by our customer number, else created,
with the same intent-before-write rule as orders.

Customer numbers are ours and stable (Visma allows 16 characters). A private person is numbered
per shop (`<prefix><shop id>-<shop customer id>`, guests by e-mail). A company with an
organisation number is numbered by it (`<prefix>-<digits>`), so the same company is one customer
in Visma whichever shop (routed to the same series) it buys in: that is how a company is matched
by organisation number, because the Visma client cannot search customers by
CorporateIdentityNumber. A client that can (`find_customer_by_organisation_number`) is asked
first, so a company the merchant entered by hand is found too.
"""

from __future__ import annotations

import hashlib
import re

from integrator.flows.order_run import OrderRun
from integrator.models import Link
from integrator.routing import Route
from shops.clients.types import NewErpCustomer, ShopCustomer, ShopOrder
from shops.models import Connection

ENTITY_CUSTOMER = "customer"
CUSTOMER_NUMBER_MAX = 16


def customer_number(shop: Connection, customer: ShopCustomer, prefix: str = "W") -> str:
    """Ours, at most 16 characters, stable per shop customer (or per company)."""
    organisation = re.sub(r"[^0-9A-Za-z]", "", customer.organisation_number or "")
    if customer.is_company and organisation:
        by_organisation = f"{prefix}-{organisation.upper()}"
        if len(by_organisation) <= CUSTOMER_NUMBER_MAX:
            return by_organisation
    head = f"{prefix}{shop.pk}-"
    own = customer.shop_customer_id
    if own and len(head) + len(own) <= CUSTOMER_NUMBER_MAX:
        return head + own
    basis = own or customer.email.strip().lower() or customer.name
    return head + hashlib.sha1(basis.encode()).hexdigest()[: CUSTOMER_NUMBER_MAX - len(head)]


def ensure_customer(run: OrderRun, shop: Connection, order: ShopOrder, route: Route) -> str:
    """The Visma customer id for the order's buyer."""
    number = customer_number(shop, order.customer, route.customer_number_prefix)
    if number in run.customers:
        return run.customers[number]
    integration = run.integration
    link, _created = Link.objects.get_or_create(
        integration=integration,
        entity=ENTITY_CUSTOMER,
        source_connection=shop,
        source_id=number,
        target_connection=integration.erp,
        defaults={"natural_key": number, "state": Link.State.PENDING},
    )
    if link.state != Link.State.DONE:
        customer_id = _find(run, order.customer, number) or _create(run, order, number)
        link.target_id, link.state = customer_id, Link.State.DONE
        link.save(update_fields=["target_id", "state", "updated_at"])
    run.customers[number] = link.target_id
    return link.target_id


def _find(run: OrderRun, customer: ShopCustomer, number: str) -> str | None:
    by_organisation = getattr(run.erp, "find_customer_by_organisation_number", None)
    if customer.is_company and customer.organisation_number and by_organisation:
        found = run.call(by_organisation, customer.organisation_number)
        if found is not None:
            return found.id
    found = run.call(run.erp.find_customer, number)
    return found.id if found is not None else None


def _create(run: OrderRun, order: ShopOrder, number: str) -> str:
    customer = order.customer
    assert customer.billing is not None  # checked before anything is written
    created = run.call(
        run.erp.create_customer,
        NewErpCustomer(
            customer_number=number,
            name=customer.name,
            is_private_person=not customer.is_company,
            email=customer.email,
            phone=customer.phone,
            organisation_number=customer.organisation_number,
            vat_number=customer.vat_number,
            invoice_address=customer.billing,
            delivery_address=customer.shipping,
            # The currency Visma invoices this customer in (drafts take it from the customer).
            currency=order.currency,
            terms_of_payment_id=run.call(run.erp.default_terms_of_payment_id),
        ),
    )
    return created.id
