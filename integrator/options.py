"""The integration options support staff set in the admin (`Integration.options`, a JSON object).

One entry per key the code reads: which jobs read it, the JSON type it must have and its check.
The checks live next to the code that reads each option (routing.py, plugins/, flows/…); this
registry only calls them. `Integration.clean` refuses a key that is not here, naming the nearest
known one, and every value its check refuses, naming the option: a typo must not silently do
nothing. docs/INTEGRATION_OPTIONS.md describes each option for people.

Job options (`SyncJob.options`: only, full, direction, dry_run, fetch, since, until) are something
else: they belong to one run and are set by the admin's actions and the `sync` command.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integrator.flows.order_status import check_order_status
from integrator.flows.price_sources import check_price_list_mapping
from integrator.flows.shop_products import check_woocommerce_tax_classes
from integrator.flows.shop_vat import check_shopify_vat_rates
from integrator.flows.tracking import check_tracking
from integrator.models import Integration, SyncJob, names_a_shop
from integrator.plugins import validate_plugins
from integrator.routing import check_routing, parse_routing
from shops.models import Connection

# A check raises ValueError (or ValidationError) whose message says what is wrong with the value.
Check = Callable[[Any, Integration], None]

Kind = SyncJob.Kind
ORDERS, ORDER_STATUS, STOCK, PAYOUTS = Kind.ORDERS, Kind.ORDER_STATUS, Kind.STOCK, Kind.PAYOUTS
PRICES, PRICE_LISTS = Kind.PRICES, Kind.PRICE_LISTS
CATALOGUE = (Kind.PRODUCTS, Kind.INITIAL_PRODUCTS)


@dataclass(frozen=True)
class Option:
    name: str
    kinds: tuple[str, ...]  # the jobs that read it (SyncJob.Kind; rules.py: in which flows)
    json_type: type  # dict, list or str
    check: Check | None = None

    def problem(self, value: Any, integration: Integration) -> str:
        """What is wrong with `value` ("" when nothing is)."""
        if not _is(value, self.json_type):
            return _("must be %(expected)s, not %(given)s.") % {
                "expected": _type_name(self.json_type),
                "given": _type_name(type(value)),
            }
        if self.check is None:
            return ""
        try:
            self.check(value, integration)
        except ValidationError as exc:
            return "; ".join(exc.messages)
        except ValueError as exc:
            return str(exc)
        return ""


def _is(value: Any, json_type: type) -> bool:
    return isinstance(value, json_type) and not isinstance(value, bool)


def _type_name(python_type: type) -> str:
    names = {
        dict: _("an object {…}"),
        list: _("a list […]"),
        str: _('a text in "quotes"'),
        bool: "true/false",
        int: _("a number"),
        float: _("a number"),
        type(None): "null",
    }
    return names.get(python_type, python_type.__name__)


def _value(check: Callable[[Any], None]) -> Check:
    """An owning module's check, which needs only the value."""
    return lambda value, integration: check(value)


# --- checks the owning modules do not need themselves ------------------------------------------


def _not_blank(value: str, integration: Integration) -> None:
    if not value.strip():
        raise ValueError(_("must not be empty; remove it to use the default."))


def _codes(value: list[Any], integration: Integration) -> None:
    if not all(isinstance(code, str) and code.strip() for code in value):
        raise ValueError(_('give the shop\'s price list codes, e.g. ["B2B", "OUTLET"].'))


def _iso_date(value: str, integration: Integration) -> None:
    # ledger/payout_runs.py reads it with date.fromisoformat; that is the format we accept.
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            _("give a date as YYYY-MM-DD, e.g. 2026-11-01, not %(given)r.") % {"given": value}
        ) from exc


def _shop_keyed(platform: str) -> Check:
    """A check of an object keyed by the connection ids of this integration's shops on
    `platform`, each with a non-empty text (a location id, a warehouse code)."""

    def check(value: dict[str, Any], integration: Integration) -> None:
        shop_ids = integration.shop_ids_on(platform)
        for key, place in value.items():
            if not names_a_shop(key, shop_ids):
                raise ValueError(
                    _("%(key)s is not the id of one of this integration's %(platform)s shops.")
                    % {"key": key, "platform": Connection.Platform(platform).label}
                )
            if not isinstance(place, str) or not place.strip():
                raise ValueError(
                    _("%(key)s: give a text, not %(given)r.") % {"key": key, "given": place}
                )

    return check


def _routing(value: dict[str, Any], integration: Integration) -> None:
    # With an accounting system, its cost centres are asked for too (when Visma answers).
    if integration.erp_id:
        check_routing({"routing": value}, integration.erp)
    else:
        parse_routing({"routing": value})


OPTIONS: dict[str, Option] = {
    option.name: option
    for option in [
        Option("shipping_article", (ORDERS, *CATALOGUE, PRICES, PRICE_LISTS), str, _not_blank),
        Option("fee_article", (ORDERS, *CATALOGUE, PRICES, PRICE_LISTS), str),
        Option("routing", (ORDERS,), dict, _routing),
        Option(
            "plugins",
            (ORDERS, *CATALOGUE, PRICES, PRICE_LISTS, STOCK),
            list,
            _value(validate_plugins),
        ),
        Option("order_status", (ORDER_STATUS,), dict, _value(check_order_status)),
        Option("tracking", (ORDER_STATUS,), dict, _value(check_tracking)),
        Option("article_unit", CATALOGUE, str, _not_blank),
        Option("shopify_vat_rates", CATALOGUE, dict, _value(check_shopify_vat_rates)),
        Option("woocommerce_tax_classes", CATALOGUE, dict, _value(check_woocommerce_tax_classes)),
        Option("price_list", (PRICES, *CATALOGUE), str, _not_blank),
        Option("price_lists", (PRICE_LISTS,), list, _codes),
        Option("campaign_price_list", (PRICES, PRICE_LISTS), str),
        Option("price_list_mapping", (PRICE_LISTS,), dict, _value(check_price_list_mapping)),
        Option("stock_locations", (STOCK,), dict, _shop_keyed(Connection.Platform.SHOPIFY)),
        Option("stock_warehouses", (STOCK,), dict, _shop_keyed(Connection.Platform.JETSHOP)),
        Option("payouts_since", (PAYOUTS,), str, _iso_date),
    ]
}


def option_errors(integration: Integration) -> list[str]:
    """Every problem with the integration's options, each naming the option."""
    options = integration.options
    if options in (None, ""):
        return []
    if not isinstance(options, dict):
        return [_("Options must be an object {…} of option names and values.")]
    errors = []
    for name, value in options.items():
        option = OPTIONS.get(name)
        if option is None:
            errors.append(_unknown(name))
            continue
        problem = option.problem(value, integration)
        if problem:
            errors.append(_("%(name)s: %(problem)s") % {"name": name, "problem": problem})
    return errors


def _unknown(name: str) -> str:
    nearest = difflib.get_close_matches(name, OPTIONS, n=1, cutoff=0.6)
    if nearest:
        return _("unknown option %(name)s — did you mean %(nearest)s?") % {
            "name": name,
            "nearest": nearest[0],
        }
    return _("unknown option %(name)s (known: %(known)s).") % {
        "name": name,
        "known": ", ".join(sorted(OPTIONS)),
    }
