"""The Visma and Jetshop sandboxes' newer endpoints and hooks, spoken to with plain HTTP: the
real shapes, the real refusals."""

from __future__ import annotations

import jsonschema
import pytest
import requests

from shops.sandbox.demo_data import DEMO_CREDENTIALS, FJALLBOK, FJALLMODE, NORRSKEN
from shops.sandbox.jetshop import JetshopSandbox
from shops.sandbox.state import SandboxOptions, SandboxState
from tests.shops.conftest import swagger_schema


def _visma(root: str, tenant: str) -> requests.Session:
    credentials = DEMO_CREDENTIALS["visma"][tenant]
    token = requests.post(
        f"{root}/visma/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"]},
        auth=(credentials["client_id"], credentials["client_secret"]),
        timeout=5,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _hook(root: str, action: str, **body: object) -> requests.Response:
    return requests.post(f"{root}/_sandbox/{action}", json=body, timeout=10)


def test_the_authorize_page_knows_our_clients_only(sandbox_url, sandbox):
    unknown = requests.get(
        f"{sandbox_url}/visma/connect/authorize",
        params={"client_id": "nobody", "redirect_uri": "https://x.example/cb"},
        allow_redirects=False,
        timeout=5,
    )

    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_client"})


def test_orders_need_the_order_module_until_the_merchant_activates_it(sandbox_url, sandbox):
    visma = _visma(sandbox_url, FJALLBOK)

    refused = visma.get(f"{sandbox_url}/visma/v2/orders", timeout=5)
    _hook(sandbox_url, "visma/company", company=FJALLBOK, ActivatedModules=["order_standard"])
    allowed = visma.get(f"{sandbox_url}/visma/v2/orders", timeout=5)

    assert refused.status_code == 403 and refused.json()["ErrorCode"] == 4002
    assert "No access to module: order_standard" in refused.json()["DeveloperErrorMessage"]
    assert allowed.status_code == 200 and allowed.json()["Data"] == []


def test_a_voucher_in_a_locked_period_is_refused_and_names_the_field(sandbox_url, sandbox):
    voucher = {
        "VoucherDate": "2025-12-31",
        "VoucherText": "P-1",
        "Rows": [
            {"AccountNumber": 1930, "DebitAmount": 10},
            {"AccountNumber": 1686, "CreditAmount": 10},
        ],
    }

    answer = _visma(sandbox_url, NORRSKEN).post(
        f"{sandbox_url}/visma/v2/vouchers", json=voucher, timeout=5
    )

    assert answer.status_code == 400
    assert [e["Field"] for e in answer.json()["Errors"]] == ["VoucherDate"]
    assert "locked" in answer.json()["DeveloperErrorMessage"]


def test_reference_lists_have_the_swagger_shapes(sandbox_url, sandbox, swagger):
    visma = _visma(sandbox_url, NORRSKEN)
    years = visma.get(f"{sandbox_url}/visma/v2/fiscalyears", timeout=5).json()
    year = next(y for y in years["Data"] if y["StartDate"].startswith("2026"))
    shapes = {
        "PaginatedResponse[FiscalYearApi]": years,
        "PaginatedResponse[UnitApi]": visma.get(f"{sandbox_url}/visma/v2/units", timeout=5).json(),
        "PaginatedResponse[BankAccountApi]": visma.get(
            f"{sandbox_url}/visma/v2/bankaccounts", timeout=5
        ).json(),
        "PaginatedResponse[AccountApi]": visma.get(
            f"{sandbox_url}/visma/v2/accounts/{year['Id']}", timeout=5
        ).json(),
        "PaginatedResponse[VoucherApi]": visma.get(
            f"{sandbox_url}/visma/v2/vouchers/{year['Id']}", timeout=5
        ).json(),
        "CompanySettingsApi": visma.get(
            f"{sandbox_url}/visma/v2/companysettings", timeout=5
        ).json(),
    }
    vat_codes = visma.get(f"{sandbox_url}/visma/v2/vatcodes", timeout=5).json()

    for definition, body in shapes.items():
        jsonschema.Draft4Validator(swagger_schema(swagger, definition)).validate(body)
    assert isinstance(vat_codes, list)  # a bare array, as the swagger says
    for code in vat_codes:
        jsonschema.Draft4Validator(swagger_schema(swagger, "VatCode")).validate(code)


def test_the_merchant_can_add_articles_another_demo_sells(sandbox_url, sandbox):
    _hook(
        sandbox_url,
        "visma/articles",
        company=FJALLMODE,
        articles=[
            {"Number": "SHOPIFY-SKU-1", "Name": "Vante", "NetPrice": "199.20", "VatRate": 25}
        ],
    )

    found = _visma(sandbox_url, FJALLMODE).get(
        f"{sandbox_url}/visma/v2/articles",
        params={"$filter": "Number eq 'SHOPIFY-SKU-1'"},
        timeout=5,
    )

    [article] = found.json()["Data"]
    assert article["GrossPrice"] == 249.0 and article["CodingName"].endswith("25 % moms")
    assert sandbox.state()["visma"]["companies"][FJALLMODE]["create_calls"] == {}


def test_an_import_answers_a_job_that_finishes_when_looked_at_again(sandbox_url, sandbox):
    credentials = DEMO_CREDENTIALS["jetshop"][NORRSKEN]
    base = f"{sandbox_url}/jetshop/{NORRSKEN}"
    token = requests.post(
        f"{base}/identity/1.0/connect/token",
        data={"grant_type": "client_credentials", **credentials},
        timeout=5,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "application-id": "1001"}
    onhands = {
        "Header": {"FullFile": False, "SkuOnhandFieldsThatAreSet": ["OnhandValue"]},
        "SkuOnhands": [
            {"PartNo": "KOK-1001", "WarehouseCode": "MAIN", "LocationCode": "A", "OnhandValue": 3}
        ],
    }

    accepted = requests.post(
        f"{base}/commerce/connect/4.0/Product/ImportOnhands",
        json=onhands,
        headers=headers,
        timeout=5,
    ).json()
    looks = [
        requests.get(
            f"{base}/commerce/connect/4.0/Job/Get",
            params={"id": accepted["JobId"]},
            headers=headers,
            timeout=5,
        ).json()
        for _ in range(3)
    ]

    assert accepted["ValidationSummary"] == {
        "NrOfItemsInTotal": 1,
        "NrOfValidationFailures": 0,
        "Messages": [],
    }
    assert [(j["StatusId"], j["IsFinished"]) for j in looks] == [(1, False), (2, True), (2, True)]
    assert looks[-1]["Updates"] == 1


def test_volume_can_be_part_of_the_startup_state():
    state = SandboxState(SandboxOptions(jetshop_orders=40, seed=5), [JetshopSandbox()])
    first = state.snapshot("jetshop")["jetshop"]["shops"][NORRSKEN]["orders"]

    state.reset()

    assert len(first) == 51 and state.snapshot()["jetshop"]["shops"][NORRSKEN]["orders"] == first


def test_the_state_of_one_system_leaves_the_others_out(sandbox_url, sandbox):
    only = requests.get(f"{sandbox_url}/_sandbox/state", params={"system": "jetshop"}, timeout=5)

    assert set(only.json()) == {"options", "faults_injected", "jetshop"}


@pytest.mark.parametrize("count", [0, 20001])
def test_generating_nothing_or_too_much_is_refused(sandbox_url, sandbox, count):
    answer = _hook(sandbox_url, "jetshop/generate", shop=NORRSKEN, orders=count)

    assert answer.status_code == 400
