"""Multishop routing: which customer number series (and cost centre) an order belongs to.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from django.utils.translation import gettext as _

from shops.clients.types import NewInvoiceRow, ShopOrder
from shops.models import Connection

DEFAULT_PREFIX = "W"
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9]{1,5}")
KNOWN_FIELDS = {"customer_number_prefix", "cost_centre", "label"}
# CostCenterItemId1 exists on Visma's draft and order rows, but our client only sends it once
# NewInvoiceRow carries it; until then a configured cost centre is refused, not dropped.
COST_CENTRE_FIELD = "cost_centre_id"


class RoutingInvalid(ValueError):
    """The integration's routing cannot be used as configured; the message says what to fix."""


@dataclass(frozen=True)
class Route:
    key: str  # the routing key that matched ("" when none did)
    customer_number_prefix: str = DEFAULT_PREFIX
    cost_centre: str = ""
    label: str = ""


def cost_centre_supported() -> bool:
    return COST_CENTRE_FIELD in {f.name for f in fields(NewInvoiceRow)}


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
        cost_centre = str(settings.get("cost_centre") or "")
        if cost_centre and not cost_centre_supported():
            raise RoutingInvalid(
                _(
                    "Routing %(key)s: a cost centre cannot be set yet — the Visma client does not "
                    "send CostCenterItemId1 on invoice or order rows. Remove cost_centre for now."
                )
                % {"key": key}
            )
        routes[key] = Route(
            key=key,
            customer_number_prefix=prefix,
            cost_centre=cost_centre,
            label=str(settings.get("label") or ""),
        )
    return routes


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
