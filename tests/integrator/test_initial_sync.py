"""The initial product sync: a dry run that lists and changes nothing, then the real run, which
creates what the dry run listed and draws its time from the service account."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from billing.models import TimeEntry
from integrator.models import Integration, Link
from shops.clients.types import NewShopProduct
from tests import factories
from tests.integrator.catalogue_setup import (  # noqa: F401 (fast: an autouse fixture)
    change_in_visma,
    fast,
    integration,
    items,
    run,
    shop_client,
    visma_company,
)

pytestmark = pytest.mark.django_db
TO_ERP = {"direction": "shop_to_erp"}


def _with_conflicts(sandbox) -> Integration:
    """Norrsken, plus a shop product whose number differs from another only in case, and a
    Visma article renumbered so that it matches its shop product only if case is ignored."""
    shop_master = integration(sandbox, flow=Integration.Flow.SHOP_MASTER)
    client = shop_client(shop_master)
    twin = NewShopProduct(part_no="kok-1001", name="Gryta (dubblett)", vat_rate=Decimal(25))
    client.wait_for_job(client.import_products([twin]).job_id)
    change_in_visma(sandbox, "norrsken", "mat-2003", "Knäckebröd (dubblett)", 6, "32.00")
    return shop_master


def test_the_dry_run_lists_creates_matches_and_conflicts_and_changes_nothing(sandbox):
    shop_master = _with_conflicts(sandbox)
    before = sandbox.state()

    job = run(shop_master, "initial_products", dry_run=True, **TO_ERP)

    assert items(job, "skipped")["KOK-1004"] == "would create in Visma"
    assert items(job, "skipped")["KOK-1002"] == "matches"
    conflicts = items(job, "failed")
    assert set(conflicts) == {"KOK-1001", "kok-1001", "MAT-2003"}
    assert "appears 2 times on this side" in conflicts["kok-1001"]
    assert "matches mat-2003 in Visma only if case and spaces are ignored" in conflicts["MAT-2003"]
    assert job.progress_total == job.progress_done == 10
    after = sandbox.state()
    assert (
        visma_company(sandbox)["create_calls"]
        == before["visma"]["companies"]["norrsken"]["create_calls"]
    )
    assert after["visma"]["articles"] == before["visma"]["articles"]
    assert not any(r["method"] != "GET" for r in sandbox.requests("visma") if "/v2/" in r["path"])
    assert not Link.objects.exists() and not TimeEntry.objects.exists()


def test_the_real_run_creates_what_the_dry_run_listed_and_records_its_time(sandbox):
    shop_master = _with_conflicts(sandbox)
    staff = factories.staff_user("karin")
    dry = run(shop_master, "initial_products", dry_run=True, **TO_ERP)
    would_create = {k for k, m in items(dry, "skipped").items() if m.startswith("would create")}

    real = run(shop_master, "initial_products", user=staff, dry_run=False, **TO_ERP)

    assert set(items(real, "transferred")) == would_create == {"KOK-1004"}
    assert visma_company(sandbox)["create_calls"]["articles"] == {"KOK-1004": 1}
    assert set(items(real, "failed")) == set(items(dry, "failed"))  # conflicts left alone
    assert Link.objects.filter(state=Link.State.DONE).count() == 7  # 6 matches + 1 created
    entry = TimeEntry.objects.get(customer=shop_master.customer)
    assert entry.category == TimeEntry.Category.INITIAL_SYNC
    assert entry.hours == Decimal("0.25") and entry.staff == staff
    assert f"job #{real.pk}" in entry.description and entry.below_zero_reason == ""


def test_time_that_overdraws_the_account_is_recorded_with_a_reason_and_never_fails_the_sync(
    sandbox,
):
    shop_master = integration(sandbox, flow=Integration.Flow.SHOP_MASTER)
    factories.time_entry(shop_master.customer, "2", staff=factories.staff_user("olle"))

    job = run(shop_master, "initial_products", **TO_ERP)

    assert job.status == "succeeded", job.error
    entry = TimeEntry.objects.get(category=TimeEntry.Category.INITIAL_SYNC)
    assert entry.below_zero_reason == "initial product sync, automatic"
    assert entry.staff.username == "integrator" and not entry.staff.is_active


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_visma_to_woocommerce_creates_the_missing_products_once_and_links_the_match(sandbox, fault):
    erp_master = integration(
        sandbox,
        shop="woocommerce",
        tenant="fjallmode",
        woocommerce_tax_classes={"25": "", "6": "reduced-rate"},
    )
    change_in_visma(sandbox, "fjallmode", "FM-FLEECE-01", "Fleecejacka Sarek", 25, "1039.20")
    # The first create batch fails, or is carried out but its answer is lost.
    sandbox.fail_next("POST", "/woocommerce/fjallmode/wp-json/wc/v3/products/batch", fault)

    dry = run(erp_master, "initial_products", direction="erp_to_shop", dry_run=True)
    real = run(erp_master, "initial_products", direction="erp_to_shop")

    assert items(dry, "skipped")["FM-FLEECE-01"] == "matches"
    would_create = {k for k, m in items(dry, "skipped").items() if m.startswith("would create")}
    assert len(would_create) == 8
    assert set(items(real, "transferred")) == would_create
    calls = sandbox.state()["woocommerce"]["create_calls"]["products"]
    assert {sku: calls[sku] for sku in would_create} == {sku: 1 for sku in would_create}
    assert sandbox.state()["faults_injected"] == {fault: 1}


def test_without_a_direction_the_job_fails_and_says_how_to_choose(sandbox):
    job = run(integration(sandbox), "initial_products")
    assert job.status == "failed" and "shop_to_erp" in job.error


def test_the_sync_command_runs_a_dry_run_in_the_direction_given(sandbox):
    shop_master = integration(sandbox, flow=Integration.Flow.SHOP_MASTER)
    out = StringIO()

    call_command(
        "sync",
        "--integration", str(shop_master.pk),
        "--entity", "initial_products",
        "--direction", "shop_to_erp",
        "--dry-run", "--now", "--json",
        stdout=out,
    )  # fmt: skip

    summary = json.loads(out.getvalue())
    assert summary["status"] == "succeeded" and summary["skipped"] == 9
    assert visma_company(sandbox)["create_calls"].get("articles", {}) == {}
    assert requests  # the sandbox was only read


def test_support_starts_a_dry_run_from_the_integration_list_in_the_flows_direction(sandbox, client):
    from django.contrib.auth.models import User
    from django.urls import reverse

    shop_master = integration(sandbox, flow=Integration.Flow.SHOP_MASTER)
    admin = User.objects.create_superuser("stina", "stina@example.se", "pw")
    client.force_login(admin)

    client.post(
        reverse("admin:integrator_integration_changelist"),
        {"action": "initial_sync_dry_run", "_selected_action": [shop_master.pk]},
    )

    job = shop_master.jobs.get(kind="initial_products")
    assert job.options == {"direction": "shop_to_erp", "dry_run": True}
    assert job.started_by == admin and job.status == "queued"
