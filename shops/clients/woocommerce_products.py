"""WooCommerce products and variations → ShopVariant, and the values our batch and price calls
take and give back. The HTTP side is shops/clients/woocommerce.py."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from shops.clients.types import ShopListedItem, ShopStockLevel, ShopVariant

COUNTRY = "SE"  # the shops we serve sell from Sweden: the rates that apply are Sweden's
# Product types we list as articles: a grouped product only bundles others, an external one is
# sold on another site, and a variable one is sold through its variations (listed instead).
SOLD_TYPES = ("simple",)

# Error codes that name their field only in the code.
FIELD_OF_CODE = {"product_invalid_sku": "sku", "woocommerce_rest_shop_order_invalid_id": "id"}


@dataclass(frozen=True)
class CampaignPrice:
    """A sale price for a limited time (WooCommerce's scheduled sale)."""

    product_id: str
    variant_id: str  # == product_id for a simple product
    sale_price: Decimal  # as the shop shows prices (incl. VAT when its prices include tax)
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None


@dataclass(frozen=True)
class BatchError:
    action: str  # create, update or delete
    key: str  # the SKU for a create, else the id
    code: str
    message: str
    field: str = ""


@dataclass
class BatchResult:
    created: list[ShopVariant] = field(default_factory=list)
    updated: list[ShopVariant] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[BatchError] = field(default_factory=list)
    requests: int = 0


def collect_batch_answer(
    result: BatchResult,
    action: str,
    sent: list[Any],
    answered: list[dict[str, Any]],
    parent_id: str,
) -> None:
    for request_item, item in zip(sent, answered, strict=False):
        problem = item.get("error")
        if problem:
            key = request_item.get("sku") if action == "create" else None
            key = key or str(
                request_item.get("id") if isinstance(request_item, dict) else request_item
            )
            params = (problem.get("data") or {}).get("params") or {}
            result.errors.append(
                BatchError(
                    action=action,
                    key=str(key),
                    code=str(problem.get("code") or ""),
                    message=str(problem.get("message") or ""),
                    field=next(iter(params), "")
                    if isinstance(params, dict) and params
                    else FIELD_OF_CODE.get(str(problem.get("code")), ""),
                )
            )
        elif action == "delete":
            result.deleted.append(str(item.get("id")))
        else:
            if parent_id and not item.get("parent_id"):
                item = {**item, "parent_id": int(parent_id)}
            variant = variant_from_woocommerce(item, item)
            (result.created if action == "create" else result.updated).append(variant)


def variant_from_woocommerce(item: dict[str, Any], holder: dict[str, Any]) -> ShopVariant:
    """A product or variation as a ShopVariant. `holder` is the one that keeps its stock (the
    variable product for a variation with manage_stock "parent"). The inventory item id is
    "<product id>" or "<product id>/<variation id>": enough to address it for a stock write."""
    parent_id = str(item.get("parent_id") or "")
    own_id = str(item["id"])
    holder_parent = str(holder.get("parent_id") or "")
    inventory_item_id = f"{holder_parent}/{holder['id']}" if holder_parent else str(holder["id"])
    regular = Decimal(str(item.get("regular_price") or "0"))
    price = Decimal(str(item.get("price") or item.get("regular_price") or "0"))
    on_sale = bool(item.get("on_sale")) and bool(item.get("sale_price"))
    quantity = holder.get("stock_quantity")
    tracked = holder.get("manage_stock") is True and quantity is not None
    return ShopVariant(
        variant_id=own_id,
        product_id=parent_id or own_id,
        sku=str(item.get("sku") or ""),
        title=str(item.get("name") or item.get("sku") or ""),
        price=price,
        compare_at_price=regular if on_sale and regular > price else None,
        inventory_item_id=inventory_item_id,
        # WooCommerce has one stock per product and no locations; nothing is reserved apart.
        stock=[ShopStockLevel("", "", int(quantity), int(quantity))] if tracked else [],
    )


# --- the catalogue, shop → ERP ---------------------------------------------------------------


def rates_by_class(tax_rates: list[dict[str, Any]]) -> dict[str, Decimal | str]:
    """Per tax class ("" for the standard class) the VAT rate for Sweden, or why there is not
    exactly one. A rate for Sweden wins over one for every country ("" as the country)."""
    found: dict[str, dict[bool, set[Decimal]]] = {}
    for rate in tax_rates:
        country = str(rate.get("country") or "").upper()
        if country not in ("", COUNTRY):
            continue
        tax_class = str(rate.get("class") or "")
        tax_class = "" if tax_class == "standard" else tax_class
        percent = Decimal(str(rate.get("rate") or "0")).normalize()
        found.setdefault(tax_class, {}).setdefault(country == COUNTRY, set()).add(percent)
    rates: dict[str, Decimal | str] = {}
    for tax_class, by_scope in found.items():
        candidates = by_scope.get(True) or by_scope.get(False) or set()
        if len(candidates) == 1:
            rates[tax_class] = next(iter(candidates))
        else:
            rates[tax_class] = _(
                'WooCommerce has several rates for Sweden in the tax class "%(class)s" '
                "(%(rates)s): which one applies depends on the address, so we do not pick one."
            ) % {
                "class": tax_class or "standard",
                "rates": ", ".join(f"{format(r, 'f')} %" for r in sorted(candidates)),
            }
    return rates


def vat_of(item: dict[str, Any], parent: dict[str, Any], rates: dict[str, Decimal | str]) -> Any:
    """(rate, problem) for a product or variation from its tax status and class."""
    if item.get("tax_status") in ("none", "shipping"):
        return Decimal(0), ""  # the shop charges no VAT on the item itself
    tax_class = str(item.get("tax_class") or "")
    if tax_class == "parent":
        tax_class = str(parent.get("tax_class") or "")
    rate = rates.get(tax_class)
    if rate is None:
        return None, _(
            'WooCommerce has no tax rate for Sweden in the tax class "%(class)s", so it charges '
            "no VAT on this product. If that is meant, give the class a 0 %% rate for Sweden."
        ) % {"class": tax_class or "standard"}
    if isinstance(rate, str):
        return None, rate
    return rate, ""


def listed_from_woocommerce(
    item: dict[str, Any],
    parent: dict[str, Any],
    rates: dict[str, Decimal | str],
    prices_include_tax: bool,
) -> ShopListedItem:
    """A simple product (`parent` is itself) or a variation of `parent` as a listed item."""
    is_variation = item is not parent
    name = str(item.get("name") or "")
    if is_variation and not name:
        options = ", ".join(str(a.get("option")) for a in item.get("attributes") or [])
        name = f"{parent.get('name', '')} - {options}"
    rate, problem = vat_of(item, parent, rates)
    regular = item.get("regular_price")
    changes = [item.get("date_modified_gmt"), parent.get("date_modified_gmt")]
    moments = [parse_datetime(f"{c}+00:00") for c in changes if c]
    return ShopListedItem(
        sku=str(item.get("sku") or ""),
        product_id=str(parent["id"]),
        variant_id=str(item["id"]),
        name=name,
        active=item.get("status") == "publish" and parent.get("status") == "publish",
        price=Decimal(str(regular)) if regular not in (None, "") else None,
        prices_include_tax=prices_include_tax,
        vat_rate=rate,
        vat_problem=problem,
        updated_at=max((m for m in moments if m), default=None),
    )
