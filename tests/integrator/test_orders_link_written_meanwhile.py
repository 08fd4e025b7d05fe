"""Two workers on one order: the one that finds the other's intent already written leaves the
order alone, so it is created in Visma once, by that worker or by the next run."""

from __future__ import annotations

from collections import Counter

import pytest

from integrator.flows import orders
from integrator.models import Link
from tests.integrator.test_order_to_invoice_end_to_end import _jetshop_integration
from tests.integrator.test_orders_checks import _run

pytestmark = pytest.mark.django_db
TAKEN = "100101"  # the order the other worker holds


def test_an_order_whose_intent_another_worker_wrote_is_left_to_it_and_created_once(
    sandbox, monkeypatch
):
    integration = _jetshop_integration(sandbox)
    shop = integration.shops.get()
    reference = f"WEB-{shop.pk}-{TAKEN}"
    real_check = orders.check_period

    def other_worker_writes_the_intent(run, day):
        # Between this worker's look for a link and its own intent, another worker (one that
        # took the job over) writes the intent for order 100101 and is about to create it.
        if not Link.objects.filter(natural_key=reference).exists() and run.current == TAKEN:
            Link.objects.create(
                integration=integration,
                entity=orders.ENTITY_ORDER,
                source_connection=shop,
                source_id="1001",
                target_connection=integration.erp,
                natural_key=reference,
                state=Link.State.PENDING,
            )
        return real_check(run, day)

    real_transfer = orders._transfer

    def transfer(run, shop, order, *args, **kwargs):
        run.current = order.order_number
        return real_transfer(run, shop, order, *args, **kwargs)

    monkeypatch.setattr(orders, "check_period", other_worker_writes_the_intent)
    monkeypatch.setattr(orders, "_transfer", transfer)

    first = _run(integration)

    item = first.items.get(key=TAKEN)
    assert item.outcome == "skipped" and "Another worker is transferring" in item.message
    invoices = Counter(i["YourReference"] for i in sandbox.state()["visma"]["customerinvoices"])
    assert reference not in invoices and invoices and max(invoices.values()) == 1

    # The other worker died before it wrote anything: the next run finishes its pending intent.
    monkeypatch.undo()
    second = _run(integration)

    invoices = Counter(i["YourReference"] for i in sandbox.state()["visma"]["customerinvoices"])
    assert invoices[reference] == 1 and max(invoices.values()) == 1
    assert second.items.get(key=TAKEN).outcome == "transferred"
