"""Builders the catalogue flow tests share: an integration against the sandbox, a job run to its
end, and changes made the way a merchant makes them (in Visma, in the shop)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from integrator import services
from integrator.models import Integration, SyncJob
from shops.clients.jetshop import JetshopClient
from shops.clients.registry import client_for
from shops.sandbox.demo_data import demo_connection_any
from tests import factories


@pytest.fixture(autouse=True)
def fast(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SYNC_RETRY_BACKOFF = 0.01
    settings.RATE_LIMITS = {"visma": None}
    # The sandbox finishes a Norce import at the second look; no need to wait a second for it.
    monkeypatch.setattr(JetshopClient, "JOB_POLL_SECONDS", 0.01)


def integration(
    sandbox: Any,
    *,
    shop: str = "jetshop",
    tenant: str = "norrsken",
    flow: str = Integration.Flow.ERP_MASTER,
    package: str = "200",
    **options: Any,
) -> Integration:
    owner = factories.customer(package_code=package)
    shop_url, shop_credentials = demo_connection_any(shop, tenant, sandbox.root)
    erp_url, erp_credentials = demo_connection_any("visma", tenant, sandbox.root)
    shop_connection = factories.connection(owner, shop, shop_url, credentials=shop_credentials)
    erp = factories.connection(owner, "visma", erp_url, credentials=erp_credentials)
    return factories.integration(owner, erp, [shop_connection], flow=flow, options=options)


def run(integration: Integration, kind: str, user: Any = None, **options: Any) -> SyncJob:
    job, _created = services.job_enqueue(
        integration=integration,
        kind=kind,
        trigger="manual",
        user=user,
        options=options,
        queue=False,
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def items(job: SyncJob, outcome: str = "") -> dict[str, str]:
    found = job.items.filter(outcome=outcome) if outcome else job.items.all()
    return {item.key: item.message for item in found}


def change_in_visma(
    sandbox: Any, tenant: str, number: str, name: str, vat: int, price: str
) -> None:
    """What the merchant does in Visma: the article's ChangedUtc moves on."""
    body = {
        "company": tenant,
        "articles": [{"Number": number, "Name": name, "VatRate": vat, "NetPrice": price}],
    }
    requests.post(
        f"{sandbox.root}/_sandbox/visma/articles", json=body, timeout=5
    ).raise_for_status()


def shop_client(integration: Integration) -> Any:
    return client_for(integration.shops.get())


def visma_company(sandbox: Any, tenant: str = "norrsken") -> dict[str, Any]:
    return sandbox.state()["visma"]["companies"][tenant]


def jetshop(sandbox: Any, tenant: str = "norrsken") -> dict[str, Any]:
    return sandbox.state()["jetshop"]["shops"][tenant]


def woo_site(sandbox: Any, tenant: str = "fjallmode") -> dict[str, Any]:
    return sandbox.state()["woocommerce"]["sites"][tenant]


def price_of(shop: dict[str, Any], number: str, price_list: str = "STANDARD") -> Decimal:
    return next(
        Decimal(str(p["PriceSale"]))
        for p in shop["prices"]
        if p["PartNo"] == number and p["PriceListCode"] == price_list
    )
