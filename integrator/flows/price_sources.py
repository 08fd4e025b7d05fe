"""The prices Visma eEkonomi keeps beside an article's ordinary price: its sales price lists
(Visma eEkonomi Pro only), read once per job for the prices and price lists flows.

Two integration options name them, by the Visma list's name or number:
- `campaign_price_list`: the list whose prices are campaign prices, e.g. "Kampanj". An article
  on it gets its campaign price in the shop's campaign price lists (Jetshop lists with an end
  date), with the ordinary price as "was" price; Shopify and WooCommerce show the campaign price
  with the ordinary price as compare-at / regular price. Visma's lists have no validity dates,
  so the shop's campaign list decides when the shopper sees it.
- `price_list_mapping` (price lists, package 400): {"<Visma list>": "<shop price list code>"},
  e.g. {"Återförsäljare": "B2B"}. An article the Visma list gives no price has its ordinary price
  there, as Visma itself prices it.

A company that is not Pro, or a list name Visma does not know, is said once per job and on each
item; the ordinary prices still go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from integrator.flows.catalogue import retrying
from integrator.flows.retries import TRANSIENT_ERRORS
from integrator.plugins import Pipeline
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.types import ErpSalesPriceList


@dataclass
class ListPrices:
    """Net prices (after the plugins) by Visma article id, for the lists the integration uses."""

    campaign_list: str = ""  # the configured name; "" when none is configured
    problem: str = ""  # why the configured lists could not be read ("" when they could)
    campaign: dict[str, Decimal] = field(default_factory=dict)  # article id -> net price
    mapped: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # shop code -> id -> net
    mapping: dict[str, str] = field(default_factory=dict)  # shop code -> Visma list name

    @property
    def configured(self) -> bool:
        return bool(self.campaign_list or self.mapping)

    def campaign_price(self, article_id: str, plugins: Pipeline, number: str) -> Decimal | None:
        price = self.campaign.get(article_id.lower())
        return None if price is None else plugins.price(number, price)

    def mapped_price(
        self, code: str, article_id: str, plugins: Pipeline, number: str
    ) -> Decimal | None:
        price = self.mapped.get(code, {}).get(article_id.lower())
        return None if price is None else plugins.price(number, price)


def check_price_list_mapping(mapping: Any) -> None:
    """ValueError saying what is wrong with an integration's price_list_mapping option."""
    if not isinstance(mapping, dict):
        raise ValueError(_("give an object of {Visma list: shop price list code}."))
    lists_by_code: dict[str, str] = {}
    for name, code in mapping.items():
        if not isinstance(code, str) or not code.strip():
            raise ValueError(_("%(name)s: give the shop price list's code.") % {"name": name})
        if code in lists_by_code:
            # One shop list can take the prices of one Visma list only: which would win?
            raise ValueError(
                _("%(first)s and %(second)s both go to the shop price list %(code)s.")
                % {"first": lists_by_code[code], "second": name, "code": code}
            )
        lists_by_code[code] = name


def read_list_prices(erp: Any, options: dict[str, Any], *, with_mapping: bool) -> ListPrices:
    """The configured lists' prices; `problem` says why there are none when some are wanted."""
    mapping = (options.get("price_list_mapping") or {}) if with_mapping else {}
    found = ListPrices(
        campaign_list=str(options.get("campaign_price_list") or "").strip(),
        mapping={str(code): str(name) for name, code in mapping.items()},
    )
    if not found.configured:
        return found
    try:
        # Passing trouble is waited out and then stops the job: reading no campaign price
        # because Visma hiccuped would end every campaign in the shops.
        lists = retrying(erp.sales_price_lists)
        if found.campaign_list:
            found.campaign = _prices(erp, _named(lists, found.campaign_list))
        for code, name in found.mapping.items():
            found.mapped[code] = _prices(erp, _named(lists, name))
    except (AuthExpired, *TRANSIENT_ERRORS):
        raise
    except ApiError as exc:
        found.problem = exc.message
    except LookupError as exc:
        found.problem = str(exc)
    if found.problem:
        found.campaign, found.mapped = {}, {}
    return found


def _named(lists: list[ErpSalesPriceList], wanted: str) -> ErpSalesPriceList:
    for price_list in lists:
        if wanted.casefold() in (price_list.name.casefold(), str(price_list.number)):
            if not price_list.is_active:
                raise LookupError(
                    _("Visma eEkonomi's sales price list %(name)s is not active.")
                    % {"name": price_list.name}
                )
            return price_list
    raise LookupError(
        _("Visma eEkonomi has no sales price list %(name)r (it has: %(known)s).")
        % {"name": wanted, "known": ", ".join(p.name for p in lists) or "-"}
    )


def _prices(erp: Any, price_list: ErpSalesPriceList) -> dict[str, Decimal]:
    rows = retrying(lambda: erp.sales_prices(price_list.id))
    return {p.article_id.lower(): p.net_price for p in rows}
