"""Connecting a merchant's Visma company: the OAuth2 authorization-code flow, end to end against
the sandbox's identity endpoints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shops.clients.errors import AuthExpired
from shops.clients.visma import API_URL, SCOPES, VismaClient, authorize_url, new_state
from shops.models import Connection
from shops.sandbox.demo_data import NORRSKEN
from tests.shops.conftest import make_connection

pytestmark = pytest.mark.django_db

CALLBACK = "https://integrator.example/connections/visma/callback"


@pytest.fixture
def unconnected(sandbox_url: str) -> Connection:
    """A Visma connection with our OAuth client but no tokens yet: the merchant has not agreed."""
    connection = make_connection(Connection.Platform.VISMA, NORRSKEN, sandbox_url)
    credentials = connection.credentials
    connection.credentials = {k: credentials[k] for k in ("client_id", "client_secret")}
    connection.save()
    return connection


def _consent(url: str) -> dict[str, list[str]]:
    """The merchant approves; the identity server sends the browser back to us."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return parse_qs(urlsplit(location).query)


def test_the_real_authorize_url_asks_for_our_scopes_and_carries_the_state():
    url = authorize_url("integrator-client", CALLBACK, "s-1")

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://identity.vismaonline.com/connect/authorize"
    )
    assert query["scope"] == [SCOPES] and query["state"] == ["s-1"]
    assert query["response_type"] == ["code"] and query["redirect_uri"] == [CALLBACK]


def test_a_merchant_connects_and_we_can_call_the_api_at_once(unconnected, sandbox):
    state = new_state()
    client = VismaClient(unconnected)

    back = _consent(client.authorize_url(CALLBACK, state))
    client.exchange_code(back["code"][0], CALLBACK)

    assert back["state"] == [state]
    stored = Connection.objects.get(pk=unconnected.pk).credentials
    assert stored["access_token"] and stored["refresh_token"] and stored["expires_at"] > 0
    assert VismaClient(Connection.objects.get(pk=unconnected.pk)).find_article("FRAKT")
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["token_requests"] == {
        "authorization_code": 1
    }


def test_a_code_works_once_and_only_for_its_redirect(unconnected, sandbox):
    client = VismaClient(unconnected)
    first = _consent(client.authorize_url(CALLBACK, "a"))["code"][0]
    second = _consent(client.authorize_url(CALLBACK, "b"))["code"][0]
    client.exchange_code(first, CALLBACK)

    with pytest.raises(AuthExpired, match="invalid_grant"):
        client.exchange_code(first, CALLBACK)
    with pytest.raises(AuthExpired, match="invalid_grant"):
        client.exchange_code(second, "https://elsewhere.example/callback")


def test_consent_without_offline_access_is_refused_back_to_us(unconnected, sandbox):
    url = VismaClient(unconnected).authorize_url(CALLBACK, "c")

    back = _consent(url.replace("offline_access", "openid"))

    assert back["error"] == ["invalid_scope"] and back["state"] == ["c"]


def test_the_real_api_root_never_sends_secrets_to_the_sandbox(unconnected):
    unconnected.base_url = API_URL

    client = VismaClient(unconnected)

    assert client.default_token_url() == "https://identity.vismaonline.com/connect/token"
    assert client.authorize_url(CALLBACK, "x").startswith("https://identity.vismaonline.com/")
