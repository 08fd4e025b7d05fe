"""Integration options as support staff type them into the admin: an unknown name is refused with
the name they meant, a value the flows could not use is refused naming the option, and a correct
set saves. The demo data and the documentation keep up with the list the code reads."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from integrator.models import Integration
from integrator.options import OPTIONS, option_errors
from tests import factories

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "INTEGRATION_OPTIONS.md"


@pytest.fixture
def multishop() -> Integration:
    owner = factories.customer(package_code="800")
    erp = factories.connection(owner, "visma")
    jetshop = factories.connection(owner, "jetshop")
    shopify = factories.connection(owner, "shopify")
    return factories.integration(owner, erp, [jetshop, shopify], flow=Integration.Flow.COMBO)


def _shop(integration: Integration, platform: str) -> str:
    return str(integration.shops.get(platform=platform).pk)


def _refusals(integration: Integration, options: dict[str, Any], language: str = "en") -> str:
    integration.options = options
    with translation.override(language), pytest.raises(ValidationError) as refused:
        integration.full_clean()
    return " | ".join(refused.value.message_dict["options"])


def _every_option(integration: Integration) -> dict[str, Any]:
    jetshop, shopify = _shop(integration, "jetshop"), _shop(integration, "shopify")
    return {
        "shipping_article": "FRAKT",
        "fee_article": "AVGIFT",
        "article_unit": "st",
        "order_status": {
            "delivered": {"status": "Levererad", "email": True, "tracking": True, "capture": True},
            "cancelled": {"status": "Makulerad", "email": False},
        },
        "tracking": {
            "pattern": r"(?i)kolli\s*(?P<number>\d{8,30})",
            "urls": {"Budbee": "https://tracking.budbee.com/{number}"},
            "wait_minutes": 30,
        },
        "routing": {
            f"{jetshop}/1002": {"customer_number_prefix": "B2B", "label": "Företag"},
            shopify: {"customer_number_prefix": "S"},
        },
        "plugins": [{"name": "default_country", "config": {"country_code": "SE"}}],
        "price_list": "SEK",
        "price_lists": ["SEK", "B2B"],
        "campaign_price_list": "Kampanj",
        "price_list_mapping": {"Återförsäljare": "B2B"},
        "stock_locations": {shopify: "gid://shopify/Location/1"},
        "stock_warehouses": {jetshop: "HUVUDLAGER"},
        "shopify_vat_rates": {"default": "25", "product_types": {"Böcker": "6"}, "tags": {}},
        "woocommerce_tax_classes": {"25": "", "6": "reduced-rate"},
        "payouts_since": "2026-11-01",
    }


def test_it_accepts_a_full_set_of_correct_options(multishop):
    options = _every_option(multishop)
    assert set(options) == set(OPTIONS)  # the test covers every option the code reads

    multishop.options = options
    multishop.full_clean()
    multishop.save()

    multishop.refresh_from_db()
    assert multishop.options == options


def test_it_refuses_a_typo_and_names_the_option_meant(multishop):
    message = _refusals(multishop, {"campain_price_list": "Kampanj"})

    assert message == "unknown option campain_price_list — did you mean campaign_price_list?"


def test_it_refuses_a_name_like_no_option_and_lists_the_known_ones(multishop):
    message = _refusals(multishop, {"colour": "blue", "shipping_article": "FRAKT"})

    assert message.startswith("unknown option colour (known: article_unit, campaign_price_list")
    assert "shipping_article" not in message.split("(known")[0]


def test_the_refusal_is_in_swedish_for_swedish_staff(multishop):
    message = _refusals(multishop, {"stock_warehouse": {}}, language="sv")

    assert message == "okänd inställning stock_warehouse — menade du stock_warehouses?"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"payouts_since": "1 november"}, "payouts_since: give a date as YYYY-MM-DD"),
        ({"payouts_since": 20261101}, 'payouts_since: must be a text in "quotes", not a number'),
        ({"shopify_vat_rates": {"default": "24"}}, "shopify_vat_rates: '24' is not a Swedish VAT"),
        (
            {"shopify_vat_rates": {"product_types": {"Böcker": "sex"}}},
            "shopify_vat_rates: product_types.Böcker: 'sex' is not a Swedish VAT rate",
        ),
        ({"shopify_vat_rates": {"defualt": "25"}}, "shopify_vat_rates: unknown part defualt"),
        ({"woocommerce_tax_classes": {"25 %": ""}}, "woocommerce_tax_classes: write the rate"),
        ({"woocommerce_tax_classes": {"7": "x"}}, "woocommerce_tax_classes: '7' is not a Swedish"),
        ({"tracking": {"pattern": r"kolli (\d+)"}}, "tracking: the pattern needs a group named"),
        ({"tracking": {"pattern": "kolli ((?P<number>"}}, "tracking: The tracking pattern is not"),
        ({"tracking": {"wait_minutes": "en timme"}}, "tracking: wait_minutes must be a number"),
        ({"tracking": {"urls": {"DHL": "https://dhl.se/"}}}, "tracking: the tracking page of DHL"),
        ({"order_status": {"shipped": {}}}, "order_status: shipped is not a status we read"),
        ({"order_status": {"paid": {"email": "yes"}}}, "order_status: paid: email must be true"),
        ({"price_lists": "B2B"}, "price_lists: must be a list […], not a text"),
        ({"price_list_mapping": {"A": "B2B", "B": "B2B"}}, "price_list_mapping: A and B both go"),
        ({"shipping_article": ""}, "shipping_article: must not be empty"),
        ({"routing": {"*": {"customer_number_prefix": "TOO-LONG"}}}, "routing: Routing *:"),
        ({"plugins": [{"name": "nope"}]}, "plugins: Plugin 1: there is no plugin called 'nope'"),
        (
            {"plugins": [{"name": "default_country", "config": ["SE"]}]},
            "plugins: Plugin 1: its config must be an object",
        ),
        ({"tracking": {"wait_minute": 30}}, "tracking: unknown setting(s) wait_minute"),
        ({"order_status": {"paid": {"e-mail": True}}}, "paid: unknown setting e-mail"),
        ({"stock_locations": {"99999": "gid://1"}}, "stock_locations: 99999 is not the id of one"),
    ],
)
def test_it_refuses_a_value_the_flow_cannot_use_naming_the_option(multishop, options, expected):
    assert expected in _refusals(multishop, options)


def test_a_shop_keyed_option_takes_only_this_integrations_shops_of_that_platform(multishop):
    jetshop, shopify = _shop(multishop, "jetshop"), _shop(multishop, "shopify")

    wrong_platform = _refusals(multishop, {"stock_locations": {jetshop: "gid://1"}})
    blank = _refusals(multishop, {"stock_warehouses": {jetshop: ""}})

    assert wrong_platform == (
        f"stock_locations: {jetshop} is not the id of one of this integration's Shopify shops."
    )
    assert blank == f"stock_warehouses: {jetshop}: give a text, not ''."
    multishop.options = {"stock_locations": {shopify: "gid://1"}}
    multishop.full_clean()


def test_every_problem_is_reported_at_once(multishop):
    message = _refusals(multishop, {"campain_price_list": "K", "payouts_since": "igår"})

    assert message.count(" | ") == 1
    assert "did you mean campaign_price_list" in message and "payouts_since:" in message


def _change_form(integration: Integration, options: str) -> dict[str, Any]:
    return {
        "customer": integration.customer_id,
        "name": integration.name,
        "enabled": "on",
        "flow": integration.flow,
        "order_target": integration.order_target,
        "trigger_statuses": "[]",
        "erp": integration.erp_id,
        "shops": [shop.pk for shop in integration.shops.all()],
        "options": options,
    }


def test_the_admin_shows_the_error_and_saves_nothing(admin_client, multishop):
    multishop.options = {"campaign_price_list": "Kampanj"}
    multishop.save()
    url = reverse("admin:integrator_integration_change", args=[multishop.pk])
    typo = '{"campain_price_list": "Rea", "payouts_since": "1/11"}'

    response = admin_client.post(url, _change_form(multishop, typo), HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200 and "errorlist" in page
    assert "unknown option campain_price_list — did you mean campaign_price_list?" in page
    assert "payouts_since: give a date as YYYY-MM-DD" in page
    multishop.refresh_from_db()
    assert multishop.options == {"campaign_price_list": "Kampanj"}

    fixed = '{"campaign_price_list": "Rea", "payouts_since": "2026-11-01"}'
    response = admin_client.post(url, _change_form(multishop, fixed), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    multishop.refresh_from_db()
    assert multishop.options == {"campaign_price_list": "Rea", "payouts_since": "2026-11-01"}


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_admin_form_lists_every_known_option(admin_client, multishop, language):
    url = reverse("admin:integrator_integration_change", args=[multishop.pk])

    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    help_text = re.search(r'<div class="help" id="id_options_helptext">(.*?)</div>', page, re.S)
    assert help_text is not None
    assert [name for name in OPTIONS if name not in help_text.group(1)] == []
    assert ("okänt namn" in help_text.group(1)) == (language == "sv")


def test_every_option_is_documented():
    documented = set(re.findall(r"^### `(\w+)`", DOCS.read_text(encoding="utf-8"), re.M))

    assert documented == set(OPTIONS)


def test_every_example_in_the_documentation_passes_the_checks():
    examples = re.findall(r"^- Example: `(.*)`$", DOCS.read_text(encoding="utf-8"), re.M)
    # A new integration: its shops are not saved yet, so any connection id is taken.
    unsaved = Integration()

    for example in examples:
        unsaved.options = json.loads("{" + example + "}")
        assert option_errors(unsaved) == [], example
    assert {name for e in examples for name in json.loads("{" + e + "}")} == set(OPTIONS)


def test_the_demo_integrations_pass_the_admins_checks(sandbox):
    call_command("seed_demo", stdout=StringIO())

    integrations = list(Integration.objects.all())
    for integration in integrations:
        integration.full_clean()
    assert any(integration.options for integration in integrations)


def test_a_shop_and_its_settings_are_added_in_one_save(admin_client, multishop):
    woo = factories.connection(multishop.customer, "woocommerce")
    shopify = _shop(multishop, "shopify")
    url = reverse("admin:integrator_integration_change", args=[multishop.pk])
    form = _change_form(multishop, json.dumps({"stock_locations": {shopify: "gid://1"}}))
    form["shops"] = [*form["shops"], woo.pk]
    form["trigger_statuses"] = json.dumps({str(woo.pk): ["processing"], "*": []})

    response = admin_client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302, response.content.decode()
    multishop.refresh_from_db()
    assert woo in multishop.shops.all()
    assert multishop.trigger_statuses == {str(woo.pk): ["processing"], "*": []}

    # A shop taken out of the integration in the same save cannot keep settings keyed by it.
    form["shops"] = [pk for pk in form["shops"] if pk != woo.pk]
    response = admin_client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert f"{woo.pk} is not the id of one of this integration&#x27;s shops" in (
        response.content.decode()
    )
