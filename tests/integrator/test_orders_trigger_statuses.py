"""Which shop statuses make an order ready for the accounting system is the merchant's choice,
per integration and, in a multishop, per shop (Jetshop says "Confirmed", Shopify "PAID")."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from shops.sandbox.demo_data import NORRSKEN
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration
from tests.integrator.test_orders_checks import _run
from tests.integrator.test_orders_multishop import _multishop

DELIVERED = 4  # Norce's StatusId for Delivered


def _invoiced(sandbox) -> set[str]:
    return {i["YourReference"] for i in sandbox.state()["visma"]["customerinvoices"]}


@pytest.mark.django_db
def test_only_orders_in_a_trigger_status_go_and_the_rest_follow_when_they_reach_it(sandbox):
    integration = _jetshop_integration(sandbox)
    shop = integration.shops.get()
    integration.trigger_statuses = ["delivered"]  # as typed in the admin: case does not matter
    integration.save()
    delivered = {o["number"] for o in sandbox.shop_orders(shop) if o["status_id"] == DELIVERED}
    assert delivered and len(delivered) < len(sandbox.shop_orders(shop))

    _run(integration)
    assert _invoiced(sandbox) == {f"WEB-{shop.pk}-{number}" for number in delivered}

    # The merchant delivers order 100101 in the shop; the next poll sees it change and sends it.
    sandbox.add_orders(NORRSKEN, {"Id": 1001, "StatusId": DELIVERED})
    job = _run(integration)
    assert job.transferred == 1
    assert f"WEB-{shop.pk}-100101" in _invoiced(sandbox)


@pytest.mark.django_db
def test_a_multishop_sets_the_statuses_per_shop(sandbox):
    integration, jetshop, shopify = _multishop(sandbox)
    # Jetshop: only delivered orders; Shopify: only those still waiting for capture.
    integration.trigger_statuses = {str(jetshop.pk): ["Delivered"], str(shopify.pk): ["AUTHORIZED"]}
    integration.full_clean()
    integration.save()

    _run(integration)

    jetshop_numbers = {
        o["number"] for o in sandbox.shop_orders(jetshop) if o["status_id"] == DELIVERED
    }
    invoiced = _invoiced(sandbox)
    from_jetshop = {r for r in invoiced if r.startswith(f"WEB-{jetshop.pk}-")}
    from_shopify = {r for r in invoiced if r.startswith(f"WEB-{shopify.pk}-")}
    assert from_jetshop == {f"WEB-{jetshop.pk}-{n}" for n in jetshop_numbers}
    # The demo Shopify shop has one authorised (not yet captured, not cancelled) order.
    assert len(from_shopify) == 1


@pytest.mark.django_db
def test_statuses_for_a_shop_that_is_not_in_the_integration_are_refused(sandbox):
    integration, jetshop, _shopify = _multishop(sandbox)
    integration.trigger_statuses = {str(jetshop.pk): ["Confirmed"], "99999": ["PAID"]}
    with pytest.raises(ValidationError) as refused:
        integration.full_clean()
    assert "99999 is not the id of one of this integration's shops" in str(refused.value)

    integration.trigger_statuses = {"*": "Confirmed"}
    with pytest.raises(ValidationError) as refused:
        integration.full_clean()
    assert "must be a list of status names" in str(refused.value)
