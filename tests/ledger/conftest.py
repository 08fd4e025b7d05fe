"""Shared by the settlement-ledger tests: the sample files (real formats, written from the
providers' public specs and docs) and gateway integrations to import them into."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from tests import factories

SAMPLES = Path(__file__).resolve().parent / "samples"


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in English; the admin and commands speak Swedish by default.
    with translation.override("en"):
        yield


@pytest.fixture
def quick_booking(settings):
    """Booking against the sandbox without Visma's request limit and with short back-offs."""
    settings.RATE_LIMITS = {"visma": None}
    settings.SYNC_RETRY_BACKOFF = 0.01


@pytest.fixture
def merchant(db):
    return factories.customer(name="Kaffebönan AB")


@pytest.fixture
def plus(merchant):
    """plus("klarna") → the gateway connection of a new Plus integration."""

    def make(platform: str):
        return factories.gateway_integration(merchant, platform, flow="plus").gateway

    return make


@pytest.fixture
def basic(merchant):
    """basic("shopify_payments") → (gateway, shop, webshop integration) for Basic/Pay."""

    def make(platform: str, shop_platform: str = "shopify"):
        erp = factories.connection(merchant, "visma", name="Visma")
        shop = factories.connection(merchant, shop_platform, name=shop_platform.title())
        webshop = factories.integration(merchant, erp, [shop], name="Shop → Visma")
        gateway = factories.gateway_integration(merchant, platform, flow="basic", erp=erp).gateway
        return gateway, shop, webshop

    return make


def sample(name: str) -> Path:
    return SAMPLES / name
