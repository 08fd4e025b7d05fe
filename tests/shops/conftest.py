"""The sandbox, running for real on a free loopback port, and connections pointing at it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from billing.models import Customer
from shops.models import Connection
from shops.sandbox.demo_data import ARTICLES, FJALLBOK, NORRSKEN, demo_connection
from shops.sandbox.server import SandboxServer
from shops.sandbox.state import SandboxOptions

SWAGGER = (
    Path(__file__).resolve().parents[2].parent / "shared/specs/visma-eaccounting-v2.swagger.json"
)

# The clients give up after CLIENT_TIMEOUT; a "timeout" fault stalls a little longer than that.
CLIENT_TIMEOUT = 0.8
TIMEOUT_SLEEP = 1.2


class Sandbox:
    """What a test does with the sandbox, over HTTP like everyone else. Tenant-aware calls default
    to the Norrsken demo merchant."""

    def __init__(self, root: str) -> None:
        self.root = root

    def url(self, system: str = "", tenant: str = NORRSKEN) -> str:
        """The sandbox root, or the base_url a Connection to `system` uses."""
        return demo_connection(system, tenant, self.root)[0] if system else self.root

    def credentials(self, system: str, owner: object = None, tenant: str = NORRSKEN) -> dict:
        """Demo credentials for a Connection to `system` (owner is accepted and ignored)."""
        return demo_connection(system, tenant, self.root)[1]

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.root}/_sandbox/state", timeout=5).json()

    def create_calls(self, system: str, collection: str) -> dict[str, int]:
        return self.state()[system]["create_calls"].get(collection, {})

    def reset(self) -> None:
        requests.post(f"{self.root}/_sandbox/reset", timeout=5).raise_for_status()

    def configure(self, **options: Any) -> None:
        requests.post(f"{self.root}/_sandbox/config", json=options, timeout=5).raise_for_status()

    def fail_next(self, method: str, path: str, *faults: str) -> None:
        """The next requests to `path` (from the root, e.g. /visma/v2/customers) fail so."""
        body = {"method": method, "path": path, "faults": list(faults)}
        requests.post(f"{self.root}/_sandbox/faults", json=body, timeout=5).raise_for_status()

    def lose_next_response(self, system: str, method: str, path: str) -> None:
        """The next `method path` of `system` is carried out, but its answer never arrives."""
        self.fail_next(method, f"/{system}{path}", "drop")

    def requests(self, system: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.root}/_sandbox/requests", params={"system": system}, timeout=5
        )
        return response.json()

    def add_orders(self, shop: str, *orders: dict[str, Any]) -> list[dict[str, Any]]:
        response = requests.post(
            f"{self.root}/_sandbox/jetshop/orders",
            json={"shop": shop, "orders": list(orders)},
            timeout=5,
        )
        response.raise_for_status()
        return response.json()["orders"]

    def shop_orders(self, shop: Connection | str) -> list[dict[str, Any]]:
        """The shop's orders as a test expects them in Visma: number, status, total incl. VAT,
        and whether every article exists in the merchant's Visma company."""
        tenant = shop if isinstance(shop, str) else shop.base_url.rstrip("/").rsplit("/", 1)[-1]
        known = {number for number, *_rest in ARTICLES[tenant]}
        orders = self.state()["jetshop"]["shops"][tenant]["orders"]
        return [
            {
                "id": order["Id"],
                "number": order["OrderNo"],
                "status_id": order["StatusId"],
                "cancelled": order["StatusId"] == 6,  # Norce's Cancelled
                "transferable": all(item["PartNo"] in known for item in order["Items"]),
                "total_incl_vat": sum(
                    (
                        (Decimal(str(i["UnitPrice"])) + Decimal(str(i["UnitVat"])))
                        * Decimal(str(i["Quantity"]))
                        for i in order["Items"]
                    ),
                    Decimal("0"),
                ).quantize(Decimal("0.01")),
            }
            for order in orders
        ]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer("127.0.0.1", 0, SandboxOptions(timeout_sleep_s=TIMEOUT_SLEEP))
    server.start_in_thread()
    yield server
    server.stop()


@pytest.fixture
def sandbox_url(sandbox_server: SandboxServer, settings: Any) -> str:
    """The base URL of a freshly reset sandbox; clients time out quickly against it."""
    Sandbox(sandbox_server.url).reset()
    settings.SANDBOX_URL = sandbox_server.url
    settings.HTTP_TIMEOUT = CLIENT_TIMEOUT
    return sandbox_server.url


@pytest.fixture
def sandbox(sandbox_url: str) -> Sandbox:
    return Sandbox(sandbox_url)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from shops.clients.base import ApiClient

    monkeypatch.setattr(ApiClient, "RETRY_BACKOFF", (0.05, 0.1))


def make_connection(
    platform: str, tenant: str, sandbox_url: str, **credential_changes: Any
) -> Connection:
    owner, _created = Customer.objects.get_or_create(
        organisation_number={NORRSKEN: "556804-3219", FJALLBOK: "559214-8760"}[tenant],
        defaults={
            "name": {NORRSKEN: "Norrsken Hem & Kök AB", FJALLBOK: "Fjällbokhandeln i Åre AB"}[
                tenant
            ]
        },
    )
    system = "visma" if platform == Connection.Platform.VISMA else "jetshop"
    base_url, credentials = demo_connection(system, tenant, sandbox_url)
    connection = Connection(
        customer=owner, name=f"{system} {tenant}", platform=platform, base_url=base_url
    )
    connection.credentials = {**credentials, **credential_changes}
    connection.save()
    return connection


@pytest.fixture
def visma_connection(sandbox_url: str) -> Connection:
    return make_connection(Connection.Platform.VISMA, NORRSKEN, sandbox_url)


@pytest.fixture
def jetshop_connection(sandbox_url: str) -> Connection:
    return make_connection(Connection.Platform.JETSHOP, NORRSKEN, sandbox_url)


# --- the Visma swagger, for checking what we send ---------------------------------------------


@pytest.fixture(scope="session")
def swagger() -> dict[str, Any]:
    if not SWAGGER.exists():
        pytest.skip(f"{SWAGGER} is absent: cannot check bodies against the Visma swagger")
    return json.loads(SWAGGER.read_text())


def swagger_schema(spec: dict[str, Any], definition: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}


def request_body_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    """The swagger schema of the body of `method path` (path as sent, with ids filled in)."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path, re.IGNORECASE) and method.lower() in operations:
            for parameter in operations[method.lower()].get("parameters", []):
                if parameter.get("in") == "body":
                    return {**parameter["schema"], "definitions": spec["definitions"]}
    return None
