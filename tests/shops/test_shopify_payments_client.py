"""The Shopify Payments client against the sandbox's Shopify Payments, over real HTTP."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from shops.clients.registry import client_for
from shops.clients.shopify_payments import ShopifyPaymentsClient
from shops.models import Connection
from shops.sandbox.shopify_data import order_id
from tests.shops.test_shopify_client import fjallmode_connection, shopify_hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments(sandbox_url: str, settings, monkeypatch) -> ShopifyPaymentsClient:
    # The limiter shared by all workers has its own tests; here it would only add waiting.
    settings.RATE_LIMITS = {Connection.Platform.SHOPIFY_PAYMENTS: None}
    monkeypatch.setattr(ShopifyPaymentsClient, "PAGE_SIZE", 2)
    return client_for(fjallmode_connection(sandbox_url, Connection.Platform.SHOPIFY_PAYMENTS))


def rest_requests(sandbox) -> list[dict]:
    return [e for e in sandbox.requests("shopify") if "shopify_payments" in e["path"]]


def test_it_lists_every_payout_newest_first_following_the_link_header(payments, sandbox):
    payouts = list(payments.payouts())

    assert [p.payout_id for p in payouts] == ["74110003", "74110002", "74110001"]
    sent = rest_requests(sandbox)
    assert [e["query"].get("limit") for e in sent] == ["2", "2"]
    assert "page_info" in sent[1]["query"] and set(sent[1]["query"]) == {"limit", "page_info"}
    assert payouts[0].status == "in_transit" and payouts[0].date == datetime.date(2026, 11, 17)


def test_a_payout_is_its_gross_less_its_fees(payments, sandbox):
    payout = payments.payout("74110002")

    assert payout.amount == payout.gross - payout.fees
    assert payout.currency == "SEK" and payout.fees > 0


def test_it_reads_a_payouts_transactions_across_pages_with_signed_amounts(payments, sandbox):
    transactions = list(payments.payout_transactions("74110002"))

    assert len(transactions) == 8 and len(rest_requests(sandbox)) == 4
    kinds = [t.kind for t in transactions]
    assert sorted(set(kinds)) == ["adjustment", "charge", "dispute", "payout", "refund"]
    assert sum((t.net for t in transactions), Decimal("0")) == 0  # the payout settles them all
    dispute = next(t for t in transactions if t.kind == "dispute")
    assert dispute.amount < 0 and dispute.fee == Decimal("150.00")
    assert dispute.net == dispute.amount - dispute.fee
    refund = next(t for t in transactions if t.kind == "refund")
    assert (refund.amount, refund.fee, refund.order_reference) == (
        Decimal("-149.00"),
        Decimal("0.00"),
        str(order_id(1006)),
    )
    payout = payments.payout("74110002")
    assert next(t for t in transactions if t.kind == "payout").amount == -payout.amount


def test_a_full_rest_bucket_is_waited_out(payments, sandbox, monkeypatch):
    monkeypatch.setattr(ShopifyPaymentsClient, "REST_LEAK_PER_SECOND", 20.0)
    shopify_hook(sandbox.root, "throttle", rest_size=3, rest_used=3, rest_leak_rate=20)

    assert payments.payout("74110001").payout_id == "74110001"

    outcomes = [e["outcome"] for e in rest_requests(sandbox)]
    assert outcomes == ["429", "200"]


def test_it_slows_down_while_the_rest_bucket_is_nearly_full(payments, sandbox, monkeypatch):
    monkeypatch.setattr(ShopifyPaymentsClient, "REST_LEAK_PER_SECOND", 20.0)
    shopify_hook(sandbox.root, "throttle", rest_size=4, rest_used=2, rest_leak_rate=20)

    transactions = list(payments.payout_transactions("74110002"))

    assert len(transactions) == 8
    assert "429" not in [e["outcome"] for e in rest_requests(sandbox)]
