"""Plugins: per-integration changes to the standard flows, without forking them (package 800+).

An integration lists its plugins in `Integration.options["plugins"]`, e.g.
    [{"name": "field_mapping", "config": {"rules": [...]}}, {"name": "default_country", ...}]
Only plugins registered here, in code, can run. What support staff type into the admin is
configuration — data, validated when the integration is saved — and is never executed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from shops.clients.types import ShopOrder


class Plugin:
    """A named change to the flows. Override what you change; the defaults change nothing."""

    name: ClassVar[str]

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = self.validate(config)

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The cleaned config, or ValidationError naming the offending part."""
        return config

    def order(self, order: ShopOrder) -> ShopOrder | None:
        """The order as the flow should see it, or None to leave it out."""
        return order

    def article_number(self, number: str) -> str | None:
        """An article number as the other side knows it, or None to leave the item out."""
        return number

    def price(self, article_number: str, price: Decimal) -> Decimal:
        return price


REGISTRY: dict[str, type[Plugin]] = {}


def register(cls: type[Plugin]) -> type[Plugin]:
    REGISTRY[cls.name] = cls
    return cls


def validate_plugins(entries: Any) -> None:
    """Raise ValidationError naming the entry and field; used by Integration.clean."""
    if not isinstance(entries, list):
        raise ValidationError(_("Plugins must be a list of {name, config} entries."))
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValidationError(
                _("Plugin %(n)d: give it a name.") % {"n": position}, code="plugin"
            )
        if not isinstance(entry.get("config") or {}, dict):
            raise ValidationError(
                _("Plugin %(n)d: its config must be an object {…}.") % {"n": position}
            )
        if entry["name"] not in REGISTRY:
            raise ValidationError(
                _("Plugin %(n)d: there is no plugin called %(name)r (known: %(known)s).")
                % {"n": position, "name": entry["name"], "known": ", ".join(sorted(REGISTRY))}
            )
        try:
            REGISTRY[entry["name"]].validate(entry.get("config") or {})
        except ValidationError as exc:
            raise ValidationError(
                _("Plugin %(n)d (%(name)s): %(errors)s")
                % {"n": position, "name": entry["name"], "errors": "; ".join(exc.messages)}
            ) from exc


class Pipeline:
    """The integration's plugins in order; what the flows call."""

    def __init__(self, plugins: list[Plugin]) -> None:
        self.plugins = plugins

    @classmethod
    def for_integration(cls, integration: Any) -> Pipeline:
        entries = integration.options.get("plugins") or []
        return cls([REGISTRY[e["name"]](e.get("config") or {}) for e in entries])

    def order(self, order: ShopOrder) -> tuple[ShopOrder | None, str]:
        """The changed order, or (None, the plugin that left it out)."""
        for plugin in self.plugins:
            changed = plugin.order(order)
            if changed is None:
                return None, plugin.name
            order = changed
        return order, ""

    def article_number(self, number: str) -> str | None:
        for plugin in self.plugins:
            number = plugin.article_number(number)
            if number is None:
                return None
        return number

    def price(self, article_number: str, price: Decimal) -> Decimal:
        for plugin in self.plugins:
            price = plugin.price(article_number, price)
        return price


# The plugins that exist; importing them registers them.
from integrator.plugins import default_country, field_mapping  # noqa: E402, F401
