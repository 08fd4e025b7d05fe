"""Stock moves from Visma to the shop: only what changed, and never over a sale in the shop."""

from __future__ import annotations

import pytest
import requests

from integrator import services
from integrator.models import Link, SyncItem, SyncJob
from shops.clients.shopify import ShopifyClient
from shops.clients.woocommerce import WooCommerceClient
from shops.sandbox.demo_data import FJALLMODE, demo_connection_any
from tests import factories

SHOPIFY_PRIMARY = "gid://shopify/Location/71001"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.SYNC_RETRY_BACKOFF = 0.01
    settings.RATE_LIMITS = {"visma": None}


def _integration(sandbox, platform: str, package: str = "200"):
    owner = factories.customer(package_code=package)
    base_url, credentials = demo_connection_any(platform, FJALLMODE, sandbox.url())
    shop = factories.connection(owner, platform, base_url, credentials=credentials)
    erp = factories.connection(
        owner,
        "visma",
        sandbox.url("visma", FJALLMODE),
        credentials=sandbox.credentials("visma", tenant=FJALLMODE),
    )
    return factories.integration(owner, erp, [shop])


def _visma_stock(sandbox, **balances: int) -> None:
    """The merchant's stock in Visma, by article number (the shop's SKU)."""
    articles = [
        {"Number": sku, "Name": sku, "NetPrice": "100", "VatRate": 25, "StockBalance": str(n)}
        for sku, n in balances.items()
    ]
    requests.post(
        f"{sandbox.url()}/_sandbox/visma/articles",
        json={"company": FJALLMODE, "articles": articles},
        timeout=5,
    ).raise_for_status()


def _run(integration, kind: str = "stock") -> SyncJob:
    job, _created = services.job_enqueue(
        integration=integration, kind=kind, trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def _shopify_available(integration, sku: str) -> int:
    client = ShopifyClient(integration.shops.get())
    levels = client.variants_by_sku([sku])[sku].stock
    return next(level.available for level in levels if level.location_id == SHOPIFY_PRIMARY)


def _woocommerce_stock(integration, sku: str) -> int:
    return WooCommerceClient(integration.shops.get()).variants_by_sku([sku])[sku].stock[0].available


def _stock_writes(sandbox, system: str) -> int:
    mutations = ("inventorySetQuantities", "inventoryAdjustQuantities")
    sent = sandbox.requests(system)
    if system == "shopify":
        return sum(1 for r in sent if any(m in str(r.get("body", "")) for m in mutations))
    return sum(1 for r in sent if r.get("method") in ("PUT", "POST") and "/products" in r["path"])


@pytest.mark.django_db
def test_it_pushes_only_changed_stock_and_a_second_run_sends_nothing(sandbox):
    integration = _integration(sandbox, "shopify")
    _visma_stock(sandbox, **{"FM-1001": 31, "FM-9001": 7})

    first = _run(integration)

    assert first.status == SyncJob.Status.SUCCEEDED, first.error
    assert _shopify_available(integration, "FM-1001") == 31
    assert _shopify_available(integration, "FM-9001") == 7
    pushed = first.items.filter(outcome=SyncItem.Outcome.TRANSFERRED)
    assert {i.key for i in pushed} == {"FM-1001", "FM-9001"}
    # Visma articles the shop does not sell are said once, not pushed.
    assert first.items.filter(outcome=SyncItem.Outcome.SKIPPED).exists()
    writes_after_first = _stock_writes(sandbox, "shopify")
    assert writes_after_first > 0

    second = _run(integration)

    assert second.transferred == 0 and second.failed == 0
    assert _stock_writes(sandbox, "shopify") == writes_after_first
    assert not Link.objects.filter(entity="stock", state=Link.State.PENDING).exists()

    _visma_stock(sandbox, **{"FM-1001": 29})
    third = _run(integration)
    assert [i.key for i in third.items.all()] == ["FM-1001"]
    assert _shopify_available(integration, "FM-1001") == 29


@pytest.mark.django_db
def test_a_shopify_sale_between_read_and_write_is_kept(sandbox, monkeypatch):
    integration = _integration(sandbox, "shopify")
    _visma_stock(sandbox, **{"FM-1001": 50})
    assert _shopify_available(integration, "FM-1001") == 40  # the demo shop's stock
    real_read = ShopifyClient.variants_by_sku
    reads = []

    def read_then_a_sale(self, skus, chunk=10):
        found = real_read(self, skus, chunk)
        reads.append(skus)
        if len(reads) == 1 and "FM-1001" in skus:
            # A shopper buys 2 after we read 40 and before we write.
            requests.post(
                f"{sandbox.url()}/_sandbox/shopify/stock",
                json={
                    "shop": FJALLMODE,
                    "sku": "FM-1001",
                    "location_id": SHOPIFY_PRIMARY,
                    "delta": -2,
                },
                timeout=5,
            ).raise_for_status()
        return found

    monkeypatch.setattr(ShopifyClient, "variants_by_sku", read_then_a_sale)
    job = _run(integration)

    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    assert len(reads) == 2  # the compare-and-set failed once, and we read again
    # Visma moved +10 over what we read (40 → 50); the shop's sale of 2 stands.
    assert _shopify_available(integration, "FM-1001") == 48


@pytest.mark.django_db
def test_a_woocommerce_sale_between_read_and_write_is_kept(sandbox, monkeypatch):
    integration = _integration(sandbox, "woocommerce")
    _visma_stock(sandbox, **{"FM-BOK-001": 35})
    assert _woocommerce_stock(integration, "FM-BOK-001") == 40
    real_read = WooCommerceClient.variants_by_sku
    sold = []

    def read_then_a_sale(self, skus, chunk=100):
        found = real_read(self, skus, chunk)
        if not sold and "FM-BOK-001" in skus:
            sold.append(True)
            requests.post(
                f"{sandbox.url()}/_sandbox/woocommerce/sell",
                json={"site": FJALLMODE, "sku": "FM-BOK-001", "quantity": 3},
                timeout=5,
            ).raise_for_status()
        return found

    monkeypatch.setattr(WooCommerceClient, "variants_by_sku", read_then_a_sale)
    job = _run(integration)

    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    # Visma moved -5 over what we read (40 → 35), sent as a delta; the sale of 3 stands.
    assert _woocommerce_stock(integration, "FM-BOK-001") == 32
    second = _run(integration)
    assert second.transferred == 0
    assert _woocommerce_stock(integration, "FM-BOK-001") == 32


@pytest.mark.django_db
def test_package_100_has_no_stock_and_says_why(sandbox):
    integration = _integration(sandbox, "shopify", package="100")

    with pytest.raises(services.JobNotAllowed) as refused:
        services.job_enqueue(integration=integration, kind="stock", trigger="manual", queue=False)

    # The reason names what is missing and the smallest package that has it.
    assert "Paket 100 does not include" in str(refused.value)
    assert "Paket 200" in str(refused.value)
    assert not SyncJob.objects.filter(integration=integration).exists()


@pytest.mark.django_db
def test_jetshop_gets_vismas_available_stock_on_top_of_its_own_reservations(sandbox, monkeypatch):
    from shops.clients.jetshop import JetshopClient

    monkeypatch.setattr(JetshopClient, "JOB_POLL_SECONDS", 0.01)
    owner = factories.customer()
    shop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop")
    )
    erp = factories.connection(
        owner, "visma", sandbox.url("visma"), credentials=sandbox.credentials("visma")
    )
    integration = factories.integration(owner, erp, [shop])
    # Visma's stock goes to the first warehouse the shop lists for the article (unless the
    # integration names one in options["stock_warehouses"]).
    first = JetshopClient(shop).stock()[0]
    sku = first.part_no
    _visma_stock_for(sandbox, "norrsken", **{sku: 12})

    job = _run(integration)

    assert job.status == SyncJob.Status.SUCCEEDED, job.error
    after = next(
        s for s in JetshopClient(shop).stock([sku]) if s.warehouse_code == first.warehouse_code
    )
    assert after.available == 12  # what the shop sells is what Visma has free
    assert after.reserved == first.reserved  # the shop's own orders still count
    assert after.on_hand == 12 + first.reserved
    assert _run(integration).transferred == 0


def _visma_stock_for(sandbox, company: str, **balances: int) -> None:
    articles = [
        {"Number": sku, "Name": sku, "NetPrice": "100", "VatRate": 25, "StockBalance": str(n)}
        for sku, n in balances.items()
    ]
    requests.post(
        f"{sandbox.url()}/_sandbox/visma/articles",
        json={"company": company, "articles": articles},
        timeout=5,
    ).raise_for_status()
