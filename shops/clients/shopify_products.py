"""Shopify's catalogue for the products flows: listing every variant with what an article needs
(shop → ERP), and creating or renaming a product with one variant (ERP → shop). The HTTP and
throttling side is shops/clients/shopify.py, whose client mixes this in.

VAT: Shopify keeps no rate on a product. It charges the rates of the shop's tax settings, with
overrides the merchant sets per collection; the Admin API only tells whether a variant is
`taxable`. So a listed item carries no rate when it is taxable (the engine maps it from the
integration's settings, never guesses), and 0 % when it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from shops.clients import shopify_queries as q
from shops.clients.types import NewShopProduct, ShopListedItem, ShopVariant

CATALOGUE_PAGE = 100  # variants per request: ~300 points, well under the 1000 a query may cost
DEFAULT_OPTION = ("Title", "Default Title")  # Shopify's option of a product without variants


def _later(*moments: Any) -> Any:
    parsed = [parse_datetime(str(m)) for m in moments if m]
    return max((p for p in parsed if p is not None), default=None)


def listed_from_shopify(node: dict[str, Any], prices_include_tax: bool) -> ShopListedItem:
    product = node.get("product") or {}
    title = str(product.get("title") or "")
    if node.get("title") and node["title"] != DEFAULT_OPTION[1]:
        title = f"{title} – {node['title']}"
    price = node.get("price")
    return ShopListedItem(
        sku=str(node.get("sku") or ""),
        product_id=str(product.get("id") or ""),
        variant_id=str(node["id"]),
        name=title,
        active=product.get("status") == "ACTIVE",
        price=Decimal(str(price)) if price not in (None, "") else None,
        prices_include_tax=prices_include_tax,
        vat_rate=None if node.get("taxable", True) else Decimal(0),
        product_type=str(product.get("productType") or ""),
        tags=tuple(str(t) for t in product.get("tags") or []),
        # The name and status live on the product, the price on the variant.
        updated_at=_later(node.get("updatedAt"), product.get("updatedAt")),
    )


class ShopifyCatalogue:
    """Mixed into ShopifyClient: `graphql`, `_payload` and `prices_include_tax` come from it."""

    graphql: Callable[..., dict[str, Any]]
    _payload: Callable[[dict[str, Any], str], dict[str, Any]]
    prices_include_tax: Callable[[], bool]

    def listed_items(self) -> list[ShopListedItem]:
        """Every variant of the shop, paged by cursor (the client waits for the cost bucket)."""
        include_tax = self.prices_include_tax()
        items: list[ShopListedItem] = []
        after = None
        while True:
            variables = {"first": CATALOGUE_PAGE, "after": after}
            page = self.graphql(q.CATALOGUE, variables)["productVariants"]
            items += [listed_from_shopify(node, include_tax) for node in page.get("nodes") or []]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return items
            after = info["endCursor"]

    def create_product(self, product: NewShopProduct) -> ShopVariant:
        """A new product with one variant carrying the SKU. Not idempotent (Shopify allows a SKU
        twice): after OutcomeUnknown, search the SKU (variants_by_sku) before creating again."""
        option_name, option_value = DEFAULT_OPTION
        variant: dict[str, Any] = {
            "optionValues": [{"optionName": option_name, "name": option_value}],
            "sku": product.part_no,
            "taxable": product.vat_rate > 0,
        }
        if product.price is not None:
            variant["price"] = str(product.price)
        product_input: dict[str, Any] = {
            "title": product.name,
            "status": "ACTIVE" if product.active else "DRAFT",
            "productOptions": [{"name": option_name, "values": [{"name": option_value}]}],
            "variants": [variant],
        }
        if product.product_type:
            product_input["productType"] = product.product_type
        payload = self._payload(
            self.graphql(q.CREATE_PRODUCT, {"input": product_input}), "productSet"
        )
        created = payload["product"]
        node = created["variants"]["nodes"][0]
        return ShopVariant(
            variant_id=str(node["id"]),
            product_id=str(created["id"]),
            sku=str(node.get("sku") or ""),
            title=str(created.get("title") or ""),
            price=Decimal(str(node.get("price") or 0)),
            compare_at_price=None,
            inventory_item_id="",
        )

    def update_product(self, product_id: str, product: NewShopProduct) -> None:
        """Title, status and product type; setting them twice is harmless."""
        update: dict[str, Any] = {
            "id": product_id,
            "title": product.name,
            "status": "ACTIVE" if product.active else "DRAFT",
        }
        if product.product_type:
            update["productType"] = product.product_type
        self._payload(self.graphql(q.UPDATE_PRODUCT, {"product": update}), "productUpdate")
