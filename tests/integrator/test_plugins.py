"""Plugins change the standard flows per integration (package 800+), configured as data."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrator import services
from integrator.models import SyncJob
from integrator.plugins import Pipeline
from tests import factories

pytestmark = pytest.mark.django_db


def _norrsken(sandbox, package: str = "800", plugins=None):
    owner = factories.customer(package_code=package)
    shop = factories.connection(
        owner, "jetshop", sandbox.url("jetshop"), credentials=sandbox.credentials("jetshop")
    )
    erp = factories.connection(
        owner, "visma", sandbox.url("visma"), credentials=sandbox.credentials("visma")
    )
    return factories.integration(owner, erp, [shop], options={"plugins": plugins or []})


def _run(integration) -> SyncJob:
    job, _ = services.job_enqueue(
        integration=integration, kind="orders", trigger="manual", queue=False
    )
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_sku_rule_lets_an_order_with_a_shop_only_article_number_through(sandbox):
    without = _run(_norrsken(sandbox))
    assert without.failed == 1  # KOK-1004 is not an article in Visma

    sandbox.reset()
    rule = {"rule": "replace_sku", "pattern": "^KOK-1004$", "replacement": "KOK-1003"}
    job = _run(_norrsken(sandbox, plugins=[{"name": "field_mapping", "config": {"rules": [rule]}}]))
    assert job.failed == 0 and job.transferred == without.transferred + 1
    # Visma was never even asked about the shop's own article number.
    assert not any("KOK-1004" in str(r) for r in sandbox.requests("visma"))


def test_an_ignore_rule_leaves_matching_orders_out_and_says_which_plugin(sandbox):
    rule = {"rule": "ignore", "field": "status", "matches": "^Confirmed$"}
    job = _run(_norrsken(sandbox, plugins=[{"name": "field_mapping", "config": {"rules": [rule]}}]))
    skipped = job.items.filter(outcome="skipped")
    assert skipped.exists()
    assert all("field_mapping" in item.message for item in skipped)


def test_plugins_need_package_800():
    owner = factories.customer(package_code="400")
    integration = factories.integration(
        owner,
        factories.connection(owner, "visma"),
        [factories.connection(owner, "jetshop")],
        options={"plugins": [{"name": "default_country", "config": {"country_code": "SE"}}]},
    )
    with pytest.raises(services.JobNotAllowed, match="Paket 800"):
        services.job_enqueue(integration=integration, kind="orders", trigger="manual")


@pytest.mark.parametrize(
    "plugins, words",
    [
        ([{"name": "run_python", "config": {"code": "__import__('os')"}}], "no plugin called"),
        ([{"name": "field_mapping", "config": {"rules": [{"rule": "exec"}]}}], "unknown rule"),
        (
            [
                {
                    "name": "field_mapping",
                    "config": {"rules": [{"rule": "ignore", "field": "status", "matches": "("}]},
                }
            ],
            "rule 1: matches is not a valid pattern",
        ),
        (
            [
                {
                    "name": "field_mapping",
                    "config": {"rules": [{"rule": "price_markup", "percent": "lots"}]},
                }
            ],
            "percent must be a number",
        ),
    ],
)
def test_a_bad_plugin_configuration_is_refused_with_what_is_wrong(plugins, words):
    owner = factories.customer(package_code="800")
    integration = factories.integration(
        owner, factories.connection(owner, "visma"), [factories.connection(owner, "jetshop")]
    )
    integration.options = {"plugins": plugins}
    with pytest.raises(ValidationError) as raised:
        integration.full_clean()
    assert words in " ".join(raised.value.message_dict["options"])


def test_a_price_markup_adds_its_percentage_rounded_to_ore():
    owner = factories.customer(package_code="800")
    integration = factories.integration(
        owner,
        factories.connection(owner, "visma"),
        [factories.connection(owner, "jetshop")],
        options={
            "plugins": [
                {
                    "name": "field_mapping",
                    "config": {"rules": [{"rule": "price_markup", "percent": "12.5"}]},
                }
            ]
        },
    )
    assert Pipeline.for_integration(integration).price("KOK-1001", Decimal("199.99")) == Decimal(
        "224.99"
    )
