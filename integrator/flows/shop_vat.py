"""Which VAT rate a shop's product carries, where the shop does not say it on the product.

WooCommerce names a tax class on each product; its client finds the class's rate for Sweden in
the shop's own tax table, so the rate comes with the item (or why there is none). Writing the
other way, a rate needs a class: the integration option `woocommerce_tax_classes` (rate → class
slug, e.g. {"25": "", "6": "reduced-rate"}) says which; only 25 % in the standard class is
assumed.

Shopify keeps no rate on a product at all: it charges the shop's rate for Sweden, or a rate the
merchant set as a tax override on a collection (typically an automated collection by product
type, e.g. books at 6 %). The Admin API shows neither, so support staff copy the set-up into the
integration option `shopify_vat_rates`:

    {"default": "25", "product_types": {"Böcker": "6"}, "tags": {"moms-12": "12"}}

A taxable product's rate is then its tags' rate, else its product type's, else the default; a
product none of these covers fails alone with the reason (DESIGN.md §4: never guess a rate). A
variant Shopify marks as not taxable is 0 %. Creating a product in Shopify uses the same mapping
backwards: an article at a rate other than the default gets the product type mapped to it, so the
merchant's override charges that rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from shops.clients.types import ShopListedItem
from shops.models import Connection

SHOPIFY_OPTION = "shopify_vat_rates"
# The Swedish VAT rates (DESIGN.md §4); a shop's mapping can name no other.
SWEDISH_VAT_RATES = (Decimal(0), Decimal(6), Decimal(12), Decimal(25))
SHOPIFY_SECTIONS = ("default", "product_types", "tags")
RateRule = Callable[[ShopListedItem], tuple[Decimal | None, str]]


def _rate(value: Any) -> Decimal | None:
    try:
        rate = Decimal(str(value).strip().rstrip("%").strip())
    except (InvalidOperation, ValueError):
        return None
    return rate.normalize() if 0 <= rate < 100 else None


def _percent(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class ShopifyVatRates:
    """The integration's copy of the shop's tax set-up for Sweden (see the module docstring)."""

    default: Decimal | None = None
    product_types: dict[str, Decimal] = field(default_factory=dict)
    tags: dict[str, Decimal] = field(default_factory=dict)
    invalid: tuple[str, ...] = ()  # entries that are not a rate, named for support staff

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ShopifyVatRates:
        given = options.get(SHOPIFY_OPTION) or {}
        invalid: list[str] = []

        def rates(section: str) -> dict[str, Decimal]:
            parsed = {}
            for name, value in (given.get(section) or {}).items():
                rate = _rate(value)
                if rate is None:
                    invalid.append(f"{section}.{name}")
                else:
                    parsed[str(name)] = rate
            return parsed

        default = _rate(given["default"]) if given.get("default") not in (None, "") else None
        if given.get("default") not in (None, "") and default is None:
            invalid.append("default")
        return cls(default, rates("product_types"), rates("tags"), tuple(invalid))

    def rate_of(self, item: ShopListedItem) -> tuple[Decimal | None, str]:
        if item.vat_rate is not None:
            return item.vat_rate, ""  # Shopify said: not taxable
        if self.invalid:
            return None, _("The option %(option)s has entries that are not a VAT rate: %(e)s.") % {
                "option": SHOPIFY_OPTION,
                "e": ", ".join(self.invalid),
            }
        tags = {t.casefold() for t in item.tags}
        by_tag = {rate for tag, rate in self.tags.items() if tag.casefold() in tags}
        if len(by_tag) > 1:
            return None, _(
                "The product's tags map to different VAT rates (%(rates)s) in %(option)s."
            ) % {
                "rates": ", ".join(f"{_percent(r)} %" for r in sorted(by_tag)),
                "option": SHOPIFY_OPTION,
            }
        if by_tag:
            return by_tag.pop(), ""
        kind = item.product_type.casefold()
        by_type = [rate for name, rate in self.product_types.items() if name.casefold() == kind]
        if kind and by_type:
            return by_type[0], ""
        if self.default is not None:
            return self.default, ""
        return None, _(
            "Shopify does not give a product's VAT rate, and the integration option %(option)s "
            'has none for its product type "%(type)s", its tags or as a default; we never guess '
            "one."
        ) % {"option": SHOPIFY_OPTION, "type": item.product_type}

    def product_type_for(self, rate: Decimal) -> str | None:
        """For a new product: "" when the shop's default rate applies, the product type mapped
        to `rate` otherwise (the first by name when several are), None when there is none."""
        if rate == 0 or (self.default is not None and rate == self.default):
            return ""
        names = sorted(name for name, mapped in self.product_types.items() if mapped == rate)
        return names[0] if names else None


def check_vat_rate(value: Any) -> Decimal:
    """The rate `value` names ("25", 6, "12 %"), or ValueError unless it is a Swedish one."""
    rate = None if isinstance(value, bool) else _rate(value)
    if rate is None or rate not in SWEDISH_VAT_RATES:
        raise ValueError(
            _("%(value)r is not a Swedish VAT rate (%(rates)s).")
            % {"value": value, "rates": ", ".join(_percent(r) for r in SWEDISH_VAT_RATES)}
        )
    return rate


def check_shopify_vat_rates(given: Any) -> None:
    """ValueError saying what is wrong with an integration's shopify_vat_rates option."""
    if not isinstance(given, dict):
        raise ValueError(_("give an object with default, product_types and tags."))
    for section, value in given.items():
        if section not in SHOPIFY_SECTIONS:
            raise ValueError(
                _("unknown part %(section)s (known: %(known)s).")
                % {"section": section, "known": ", ".join(SHOPIFY_SECTIONS)}
            )
        if section == "default":
            check_vat_rate(value)
            continue
        if not isinstance(value, dict):
            raise ValueError(
                _("%(section)s must be an object of {name: VAT rate}.") % {"section": section}
            )
        for name, rate in value.items():
            try:
                check_vat_rate(rate)
            except ValueError as exc:
                raise ValueError(f"{section}.{name}: {exc}") from exc


def vat_rule(platform: str, options: dict[str, Any]) -> RateRule:
    """How to find the rate of a listed item of this platform's shop."""
    if platform == Connection.Platform.SHOPIFY:
        return ShopifyVatRates.from_options(options).rate_of
    return lambda item: (item.vat_rate, item.vat_problem)
