"""The chaos run expires every Visma access token mid-run (the sandbox's expire_tokens hook, as
when Visma ends a session before the expiry it announced). The next call is refused with a 401;
the client refreshes once, stores the new tokens and carries on: no failed job, no reconnect."""

from __future__ import annotations

import pytest
import requests

from shops.clients.visma import VismaClient
from shops.models import Connection
from shops.sandbox.demo_data import NORRSKEN
from tests.shops.conftest import make_connection

pytestmark = pytest.mark.django_db


def _refreshes(sandbox) -> int:
    return sandbox.state()["visma"]["companies"][NORRSKEN]["token_requests"].get("refresh_token", 0)


def test_an_access_token_expired_early_costs_one_refresh_and_the_call_goes_through(
    sandbox,
):
    visma_connection = make_connection(Connection.Platform.VISMA, NORRSKEN, sandbox.root)
    client = VismaClient(visma_connection)
    client.company_settings()
    first_token = Connection.objects.get(pk=visma_connection.pk).credentials["access_token"]
    refreshes = _refreshes(sandbox)

    requests.post(
        f"{sandbox.root}/_sandbox/visma/expire_tokens", json={"company": NORRSKEN}, timeout=5
    ).raise_for_status()
    # The old token is refused by Visma now, although our copy says it is good for an hour.
    refused = requests.get(
        f"{sandbox.url('visma')}/v2/companysettings",
        headers={"Authorization": f"Bearer {first_token}"},
        timeout=5,
    )
    assert refused.status_code == 401

    assert client.company_settings()["Name"]
    assert _refreshes(sandbox) == refreshes + 1
    stored = Connection.objects.get(pk=visma_connection.pk).credentials
    assert stored["access_token"] != first_token
    client.company_settings()  # the new token keeps working
    assert _refreshes(sandbox) == refreshes + 1
