"""The sandbox itself, spoken to with plain HTTP: it must behave like the real APIs, or the
client tests prove nothing."""

from __future__ import annotations

import time

import jsonschema
import pytest
import requests

from shops.sandbox.demo_data import DEMO_CREDENTIALS, FJALLBOK, NORRSKEN
from shops.sandbox.state import mint_token
from tests.shops.conftest import swagger_schema

VISMA = DEMO_CREDENTIALS["visma"][NORRSKEN]


def refresh(url: str, refresh_token: str) -> requests.Response:
    return requests.post(
        f"{url}/visma/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(VISMA["client_id"], VISMA["client_secret"]),
        timeout=5,
    )


@pytest.fixture
def visma(sandbox_url: str) -> requests.Session:
    """A session authorised for the Norrsken company, pointed at the Visma API root."""
    session = requests.Session()
    token = refresh(sandbox_url, VISMA["refresh_token"]).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = f"{sandbox_url}/visma"  # type: ignore[attr-defined]
    return session


def terms_id(visma: requests.Session) -> str:
    return visma.get(f"{visma.base}/v2/termsofpayments").json()["Data"][0]["Id"]


def customer_body(visma: requests.Session, **changes: object) -> dict:
    return {
        "CustomerNumber": "K-1",
        "Name": "Anna Lindqvist",
        "IsPrivatePerson": True,
        "IsActive": True,
        "TermsOfPaymentId": terms_id(visma),
        "InvoiceCity": "Göteborg",
        "InvoicePostalCode": "411 38",
        **changes,
    }


def test_state_counts_every_create_per_natural_key(visma, sandbox):
    customer = visma.post(f"{visma.base}/v2/customers", json=customer_body(visma)).json()
    article = visma.get(
        f"{visma.base}/v2/articles", params={"$filter": "Number eq 'FRAKT'"}
    ).json()["Data"][0]
    draft = {
        "CustomerId": customer["Id"],
        "RotReducedInvoicingType": 0,
        "EuThirdParty": False,
        "CustomerIsPrivatePerson": True,
        "InvoiceCustomerName": "Anna Lindqvist",
        "InvoicePostalCode": "411 38",
        "InvoiceCity": "Göteborg",
        "InvoiceCountryCode": "SE",
        "YourReference": "WEB-1-1001",
        "Rows": [
            {
                "LineNumber": 1,
                "ArticleId": article["Id"],
                "IsTextRow": False,
                "Text": "Frakt",
                "Quantity": 1,
                "ReversedConstructionServicesVatFree": False,
            }
        ],
    }
    for _ in range(2):  # the sandbox, like Visma, does not stop a duplicate: it counts it
        assert visma.post(f"{visma.base}/v2/customerinvoicedrafts", json=draft).status_code == 201

    state = sandbox.state()["visma"]["companies"][NORRSKEN]
    assert state["create_calls"] == {
        "customers": {"K-1": 1},
        "customerinvoicedrafts": {"WEB-1-1001": 2},
    }
    assert state["customerinvoicedrafts"][0]["TotalAmount"] == 49.0  # 39.20 + 25 % VAT
    assert sandbox.state()["visma"]["companies"][FJALLBOK]["customers"] == []


def test_reset_brings_back_the_demo_data(visma, sandbox):
    visma.post(f"{visma.base}/v2/customers", json=customer_body(visma))
    sandbox.add_orders(NORRSKEN, {"OrderNo": "X-1"})

    sandbox.reset()

    state = sandbox.state()
    assert (
        state["visma"]["companies"][NORRSKEN]["customers"] == []
        and state["visma"]["companies"][NORRSKEN]["create_calls"] == {}
    )
    assert (
        len(state["jetshop"]["shops"][NORRSKEN]["orders"]) == 11
        and len(state["jetshop"]["shops"][FJALLBOK]["orders"]) == 4
    )


def test_a_refresh_token_works_once(sandbox_url, sandbox):
    first = refresh(sandbox_url, VISMA["refresh_token"])
    assert first.status_code == 200 and first.json()["refresh_token"] != VISMA["refresh_token"]

    again = refresh(sandbox_url, VISMA["refresh_token"])

    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    assert refresh(sandbox_url, first.json()["refresh_token"]).status_code == 200


def test_an_expired_or_unknown_access_token_gets_401(sandbox_url, sandbox):
    expired = mint_token(
        "visma-access", cid=VISMA["client_id"], co=NORRSKEN, exp=int(time.time()) - 1
    )
    for token in (expired, "not-a-token"):
        response = requests.get(
            f"{sandbox_url}/visma/v2/customers",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert response.status_code == 401
        assert response.json()["ErrorCode"] == 4005


def test_lists_filter_and_page_in_the_meta_data_envelope(visma, sandbox, swagger):
    page = visma.get(f"{visma.base}/v2/articles", params={"$page": 2, "$pagesize": 4}).json()
    filtered = visma.get(
        f"{visma.base}/v2/articles", params={"$filter": "Number eq 'kok-1002' or Number eq 'FRAKT'"}
    ).json()

    assert page["Meta"] | {"ServerTimeUtc": None} == {
        "CurrentPage": 2,
        "PageSize": 4,
        "TotalNumberOfPages": 3,
        "TotalNumberOfResults": 9,
        "ServerTimeUtc": None,
    }
    assert [a["Number"] for a in filtered["Data"]] == ["KOK-1002", "FRAKT"]
    jsonschema.Draft4Validator(swagger_schema(swagger, "PaginatedResponse[ArticleApi]")).validate(
        page
    )


def test_a_bad_filter_is_a_400_not_a_crash(visma, sandbox):
    for expression in ("Nope eq 'x'", "Number eq", "Number eq 'x' and"):
        response = visma.get(f"{visma.base}/v2/articles", params={"$filter": expression})

        assert response.status_code == 400 and response.json()["ErrorCode"] == 2000, expression


def test_a_validation_error_names_each_field(visma, sandbox):
    response = visma.post(
        f"{visma.base}/v2/customers", json=customer_body(visma, Name="x" * 51, InvoiceCity="")
    )

    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == 2000 and body["ErrorId"]
    assert [e["Field"] for e in body["Errors"]] == ["InvoiceCity", "Name"]


def test_the_rate_limit_answers_429_with_error_code_4010(visma, sandbox):
    sandbox.configure(rate_limit=3)

    statuses = [visma.get(f"{visma.base}/v2/articles").status_code for _ in range(4)]
    other_endpoint = visma.get(f"{visma.base}/v2/customers")
    limited = visma.get(f"{visma.base}/v2/articles")

    assert statuses == [200, 200, 200, 429] and other_endpoint.status_code == 200
    assert limited.json()["ErrorCode"] == 4010
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_a_dropped_response_still_does_the_write(visma, sandbox):
    sandbox.fail_next("POST", "/visma/v2/customers", "drop")

    with pytest.raises(requests.ConnectionError):
        visma.post(f"{visma.base}/v2/customers", json=customer_body(visma))

    assert sandbox.state()["visma"]["companies"][NORRSKEN]["create_calls"] == {
        "customers": {"K-1": 1}
    }


def test_random_faults_repeat_with_the_same_seed(visma, sandbox):
    def outcomes() -> list[int | str]:
        sandbox.configure(faults=0.5, seed=7, timeout_sleep_s=0.01)
        seen: list[int | str] = []
        for _ in range(12):
            try:
                seen.append(visma.get(f"{visma.base}/v2/termsofpayments", timeout=2).status_code)
            except requests.ConnectionError:
                seen.append("dropped")
        return seen

    first, second = outcomes(), outcomes()

    assert first == second
    assert {500, 502, 429} & set(first) and 200 in first


def test_jetshop_wants_its_own_token_and_the_application_id(sandbox_url, sandbox):
    credentials = DEMO_CREDENTIALS["jetshop"][NORRSKEN]
    base = f"{sandbox_url}/jetshop/{NORRSKEN}"
    token = requests.post(
        f"{base}/identity/1.0/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "scope": "prod",
        },
        timeout=5,
    ).json()["access_token"]
    orders_path = "/commerce/query/2.0/Orders/Orders"
    auth = {"Authorization": f"Bearer {token}"}

    missing_app = requests.get(f"{base}{orders_path}", headers=auth, timeout=5)
    ok = requests.get(
        f"{base}{orders_path}",
        headers={**auth, "application-id": "1001"},
        params={"$top": 3, "$orderby": "Updated desc,Id desc"},
        timeout=5,
    )
    other_shop = requests.get(
        f"{sandbox_url}/jetshop/{FJALLBOK}{orders_path}",
        headers={**auth, "application-id": "2001"},
        timeout=5,
    )

    assert (
        missing_app.status_code == 400 and missing_app.json()["error"]["target"] == "application-id"
    )
    assert [o["OrderNo"] for o in ok.json()["value"]] == ["100111", "100110", "100109"]
    assert other_shop.status_code == 401
