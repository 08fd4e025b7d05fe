"""WooCommerce products and variations → ShopVariant, and the values our batch and price calls
take and give back. The HTTP side is shops/clients/woocommerce.py."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shops.clients.types import ShopStockLevel, ShopVariant

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
