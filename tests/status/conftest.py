"""Two merchants, Kaffebönan (the one looking) and Konkurrenten (whose data must never show), and
a fresh rate-limit count for every test."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrator.models import SyncItem, SyncJob
from ledger.models import Payout
from tests.status import builders


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def kaffe(db, now):
    """Kaffebönan AB on package 200: orders and stock went through, then Visma's authorisation
    expired; Klarna payouts, one with a discrepancy; service hours bought and used."""
    world = builders.world("Kaffebönan AB", tag="KAFFE", package_code="200")
    yesterday = now - datetime.timedelta(days=1)
    orders = builders.job(
        world, SyncJob.Kind.ORDERS, status=SyncJob.Status.SUCCEEDED, at=yesterday, transferred=3
    )
    builders.items(orders, "order", ["100231", "100232", "100233"])
    stock = builders.job(
        world, SyncJob.Kind.STOCK, status=SyncJob.Status.SUCCEEDED, at=yesterday, transferred=5
    )
    builders.items(stock, "stock", [f"ART-{n}" for n in range(5)])
    builders.items(stock, "stock", ["ART-X"], outcome=SyncItem.Outcome.FAILED, message="boom")
    builders.job(
        world,
        SyncJob.Kind.ORDERS,
        status=SyncJob.Status.FAILED,
        at=now - datetime.timedelta(hours=1),
        error=builders.AUTH_EXPIRED,
    )
    world.erp.record_error(builders.AUTH_EXPIRED, needs_merchant=True)
    today = timezone.localdate()
    builders.payout(
        world,
        "KAFFE-P1",
        day=today,
        net="2450.00",
        status=Payout.Status.BOOKED,
    )
    builders.payout(
        world,
        "KAFFE-P2",
        day=today,
        net="1200.00",
        status=Payout.Status.DISCREPANCY,
        unmatched=2,
    )
    builders.hours(
        world,
        bought="10",
        worked=[
            (today - datetime.timedelta(days=20), "1.5", "Prisliste-plugin KAFFE"),
            (today - datetime.timedelta(days=3), "0.75", "Felsökning av lagersaldo KAFFE"),
        ],
    )
    return world


@pytest.fixture
def rival(db, now):
    """Konkurrenten AB: another merchant, with data under names that must never show for
    Kaffebönan."""
    world = builders.world("Konkurrenten AB", tag="RIVAL", package_code="400")
    orders = builders.job(
        world,
        SyncJob.Kind.ORDERS,
        status=SyncJob.Status.SUCCEEDED,
        at=now - datetime.timedelta(hours=2),
        transferred=2,
    )
    builders.items(orders, "order", ["RIVAL-1", "RIVAL-2"])
    builders.payout(
        world, "RIVAL-P1", day=timezone.localdate(), net="99999.00", status=Payout.Status.BOOKED
    )
    builders.hours(world, bought="2", worked=[(timezone.localdate(), "0.25", "RIVAL-hemlighet")])
    return world
