"""Found by `make chaos`: when Visma failed the conversion of a Plus invoice draft (a 500 or a
429, which change nothing), the booking made a second draft for the same order instead of
converting the one it had. Every order must reach Visma as one draft and one invoice."""

from __future__ import annotations

import pytest

from integrator.models import SyncJob
from tests.ledger.sandbox_setup import clearing_bank_account, failures, gateway_setup, run_payouts

pytestmark = pytest.mark.django_db
TENANT = "kaffebonan"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.RATE_LIMITS = {"visma": None}
    settings.SYNC_RETRY_BACKOFF = 0.01


@pytest.mark.parametrize("fault", ["500", "429"])
def test_a_failed_conversion_converts_the_same_draft_and_makes_no_second_one(
    sandbox, sandbox_server, fault
):
    clearing_bank_account(sandbox_server, TENANT)
    klarna_plus = gateway_setup(sandbox, "klarna", TENANT)
    # The first conversion fails as often as one call is tried (and once more).
    sandbox.fail_next("POST", "/visma/v2/customerinvoicedrafts/", fault, fault, fault, fault)

    job = run_payouts(klarna_plus)

    assert failures(job) == []
    assert job.status == SyncJob.Status.SUCCEEDED
    drafts = sandbox.create_calls("visma", "customerinvoicedrafts")
    invoices = sandbox.create_calls("visma", "customerinvoices")
    assert drafts and set(drafts.values()) == {1}
    assert set(invoices) == set(drafts)
    assert set(invoices.values()) == {1}
