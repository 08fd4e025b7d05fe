"""Multishop routing: which customer number series and cost centre an order belongs to.

An integration with several shops — or one Jetshop client with several channels — can route
orders by where they came from, in `Integration.options["routing"]`:

    {"12/1002": {"customer_number_prefix": "B2B", "label": "Företag"},
     "1001": {"customer_number_prefix": "W"},
     "13": {"customer_number_prefix": "S"}}

A key is, most specific first, `<shop connection id>/<channel>`, `<channel>` (a Jetshop
channel is the Norce ApplicationId the order carries), `<shop connection id>`, or `*` for the
rest. A bare number is first tried as a channel, then as a shop connection id: write
`<shop>/<channel>` when the two could be confused.

Keys and prefixes end up in Visma customer numbers (at most 16 characters, our natural key), so
they are checked strictly: a mistake is reported when the job starts, never guessed around.

`cost_centre` names an item of the merchant's Visma cost centre number 1 by its short name (the
code, e.g. "WEBB") or its name; every row of a routed order's invoice or order is booked on it
(CostCenterItemId1). It is looked up in Visma (`GET /v2/costcenters`) when the integration is
saved in the admin (`check_routing`, from Integration.clean) and again when an orders job
starts: an unknown or inactive one is refused with the codes Visma does know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext as _

from shops.clients.errors import ApiError
from shops.clients.types import ErpCostCentreItem, ShopOrder
from shops.models import Connection

DEFAULT_PREFIX = "W"
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9]{1,5}")
KNOWN_FIELDS = {"customer_number_prefix", "cost_centre", "label"}
# A row's CostCenterItemId1 holds an item of the cost centre with this Number.
COST_CENTRE_NUMBER = 1


class RoutingInvalid(ValueError):
    """The integration's routing cannot be used as configured; the message says what to fix."""


@dataclass(frozen=True)
class Route:
    key: str  # the routing key that matched ("" when none did)
    customer_number_prefix: str = DEFAULT_PREFIX
    cost_centre: str = ""  # as configured: the item's short name or name
    label: str = ""
    cost_centre_id: str = ""  # the Visma item's id, once resolved


def parse_routing(options: dict[str, Any]) -> dict[str, Route]:
    """The integration's routes by key, or RoutingInvalid naming the key and field at fault."""
    raw = (options or {}).get("routing") or {}
    if not isinstance(raw, dict):
        raise RoutingInvalid(_("Routing must be an object of {key: {settings}}."))
    routes: dict[str, Route] = {}
    for key, settings in raw.items():
        key = str(key).strip()
        if not isinstance(settings, dict):
            raise RoutingInvalid(_("Routing %(key)s: give an object of settings.") % {"key": key})
        unknown = set(settings) - KNOWN_FIELDS
        if unknown:
            raise RoutingInvalid(
                _("Routing %(key)s: unknown setting(s) %(names)s (known: %(known)s).")
                % {
                    "key": key,
                    "names": ", ".join(sorted(unknown)),
                    "known": ", ".join(sorted(KNOWN_FIELDS)),
                }
            )
        prefix = str(settings.get("customer_number_prefix") or DEFAULT_PREFIX)
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise RoutingInvalid(
                _(
                    "Routing %(key)s: customer_number_prefix %(prefix)r must be 1–5 letters or "
                    "digits (Visma customer numbers are at most 16 characters)."
                )
                % {"key": key, "prefix": prefix}
            )
        cost_centre = str(settings.get("cost_centre") or "").strip()
        routes[key] = Route(
            key=key,
            customer_number_prefix=prefix,
            cost_centre=cost_centre,
            label=str(settings.get("label") or ""),
        )
    return routes


def resolve_cost_centres(routes: dict[str, Route], erp: Any) -> dict[str, Route]:
    """The routes with their cost centre items' Visma ids, or RoutingInvalid naming the route
    whose cost centre Visma does not have. Asks Visma only when a route names one."""
    if not any(route.cost_centre for route in routes.values()):
        return routes
    items = _cost_centre_items(erp)
    resolved = {}
    for key, route in routes.items():
        if route.cost_centre:
            wanted = route.cost_centre.casefold()
            item = next(
                (i for i in items if wanted in (i.short_name.casefold(), i.name.casefold())), None
            )
            if item is None or not item.is_active:
                known = ", ".join(sorted(i.short_name or i.name for i in items if i.is_active))
                values = {
                    "key": key,
                    "code": route.cost_centre,
                    "number": COST_CENTRE_NUMBER,
                    "known": known or "-",
                }
                if item is None:
                    message = _(
                        "Routing %(key)s: cost_centre %(code)r is not an item of Visma "
                        "eEkonomi's cost centre %(number)s (active items: %(known)s)."
                    )
                else:
                    message = _(
                        "Routing %(key)s: cost_centre %(code)r is inactive in Visma eEkonomi's "
                        "cost centre %(number)s (active items: %(known)s)."
                    )
                raise RoutingInvalid(message % values)
            route = replace(route, cost_centre_id=item.id)
        resolved[key] = route
    return resolved


def _cost_centre_items(erp: Any) -> list[ErpCostCentreItem]:
    return [
        item
        for centre in erp.cost_centres()
        if centre.number == COST_CENTRE_NUMBER
        for item in centre.items
    ]


def check_routing(options: dict[str, Any], erp: Connection) -> None:
    """RoutingInvalid when the routing cannot work: its form, and its cost centres as Visma knows
    them. When Visma cannot be asked right now, the orders job checks again when it starts."""
    from shops.clients.registry import client_for

    routes = parse_routing(options)
    try:
        resolve_cost_centres(routes, client_for(erp))
    except ApiError:
        return  # unreachable, or the connection needs the merchant (its own page says so)


def route_for(routes: dict[str, Route], shop: Connection, order: ShopOrder) -> Route:
    """The most specific route for the order; the default series when none matches."""
    candidates = []
    if order.channel:
        candidates += [f"{shop.pk}/{order.channel}", order.channel]
    candidates += [str(shop.pk), "*"]
    for key in candidates:
        if key in routes:
            return routes[key]
    return Route(key="")


def origin(shop: Connection, order: ShopOrder, channel_names: dict[str, str]) -> str:
    """Where the order came from, in words support staff and the accountant recognise:
    the shop's name, and the Jetshop channel's when the shop has several."""
    if not order.channel or len(channel_names) < 2:
        return shop.name
    name = channel_names.get(order.channel, "")
    channel = f"{name} ({order.channel})" if name else order.channel
    return _("%(shop)s, channel %(channel)s") % {"shop": shop.name, "channel": channel}
