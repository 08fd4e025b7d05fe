"""The Nets Easy (Nexi) Reporting API client against the sandbox."""

from __future__ import annotations

import json

import pytest

from shops.clients.errors import NotFound
from shops.clients.nets import NetsClient
from tests.shops.test_gateway_clients import NOVEMBER, gateway_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def nets(sandbox_url) -> NetsClient:
    return NetsClient(gateway_connection("nets", sandbox_url))


def test_it_pages_by_page_number_until_number_of_payouts(nets, sandbox):
    payouts = list(nets.payouts(page_size=3, **NOVEMBER))

    assert len(payouts) == 4
    pages = [r["query"]["pageNumber"] for r in sandbox.requests("nets")]
    assert pages == ["1", "2"]
    assert nets.last_exchange.request_headers["Authorization"] == "[redacted]"


def test_the_payout_file_is_the_payout_as_nexi_sent_it(nets):
    payout = next(nets.payouts(**NOVEMBER))

    name, content = nets.payout_file(payout.payout_id)

    assert name == f"nets-payout-{payout.payout_id}.json"
    sent = json.loads(content)
    assert sent["payoutId"] == payout.payout_id
    assert sum(p["netAmount"] for p in sent["payments"]) == sent["netAmount"]
    assert sent["netAmount"] == int(payout.amount * 100)


def test_an_unknown_payout_is_not_found(nets):
    with pytest.raises(NotFound):
        nets.payout("0" * 32)
