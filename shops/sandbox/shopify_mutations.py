"""The GraphQL mutations the Shopify sandbox answers, with Shopify's userErrors (field paths as
lists of strings, codes where Shopify has them). Each one is all or nothing, like Shopify: one bad
entry and nothing changes. Called with the state lock held; see shops/sandbox/shopify.py.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from shops.sandbox import shopify_data as data
from shops.sandbox.state import now_utc

if TYPE_CHECKING:
    from shops.sandbox.shopify import Shop

INVENTORY_REASONS = frozenset(
    """correction cycle_count_available damaged movement_created movement_updated
    movement_received movement_canceled other promotion quality_control received
    reservation_created reservation_deleted reservation_updated restock safety_stock
    shrinkage""".split()
)
OPEN_STATUSES = ("OPEN", "IN_PROGRESS", "SCHEDULED")


def user_error(field: list[Any] | None, message: str, code: str | None = None) -> dict:
    error: dict[str, Any] = {"field": [str(p) for p in field] if field else None}
    error["message"] = message
    if code:
        error["code"] = code
    return error


def variant_shape(variant: dict[str, Any]) -> dict[str, Any]:
    """A stored variant as GraphQL's ProductVariant, inventory levels included."""
    item = variant["inventoryItem"]
    levels = [
        {
            "location": level["location"],
            "quantities": [{"name": n, "quantity": q} for n, q in level["quantities"].items()],
        }
        for level in item["levels"]
    ]
    keys = ("id", "sku", "title", "price", "compareAtPrice", "taxable", "updatedAt", "product")
    return {
        **{k: variant[k] for k in keys},
        "inventoryItem": {"id": item["id"], "inventoryLevels": {"nodes": levels}},
    }


def _level(shop: Shop, item_id: str, location_id: str) -> tuple[dict | None, dict | None]:
    variant = next((v for v in shop.variants if v["inventoryItem"]["id"] == item_id), None)
    if variant is None:
        return None, None
    level = next(
        (lv for lv in variant["inventoryItem"]["levels"] if lv["location"]["id"] == location_id),
        None,
    )
    return variant, level


def _inventory(shop: Shop, variables: dict[str, Any], *, absolute: bool) -> dict[str, Any]:
    given = variables.get("input") or {}
    name, errors, planned = given.get("name"), [], []
    entries = given.get("quantities" if absolute else "changes") or []
    if name not in ("available", "on_hand"):
        errors.append(
            user_error(
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            )
        )
    if given.get("reason") not in INVENTORY_REASONS:
        errors.append(
            user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON")
        )
    for index, entry in enumerate(entries):
        at = ["input", "quantities" if absolute else "changes", index]
        variant, level = _level(
            shop, str(entry.get("inventoryItemId")), str(entry.get("locationId"))
        )
        if variant is None:
            errors.append(
                user_error(
                    [*at, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                )
            )
        elif level is None:
            errors.append(
                user_error(
                    [*at, "locationId"],
                    "The specified inventory item is not stocked at the location.",
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                )
            )
        elif absolute and int(entry.get("quantity", -1)) < 0:
            errors.append(
                user_error(
                    [*at, "quantity"],
                    "The quantity can't be negative.",
                    "INVALID_QUANTITY_NEGATIVE",
                )
            )
        elif (
            absolute and name in ("available", "on_hand") and not given.get("ignoreCompareQuantity")
        ):
            expected = entry.get("compareQuantity")
            if expected is None:
                errors.append(
                    user_error(
                        [*at, "compareQuantity"],
                        "The compareQuantity argument must be given to each quantity or ignored "
                        "using ignoreCompareQuantity.",
                        "COMPARE_QUANTITY_REQUIRED",
                    )
                )
            elif int(expected) != level["quantities"][name]:
                errors.append(
                    user_error(
                        [*at, "compareQuantity"],
                        "The compareQuantity value does not match persisted value.",
                        "COMPARE_QUANTITY_STALE",
                    )
                )
        if variant is not None and level is not None:
            planned.append((variant, level, entry))
    if errors:
        # All or nothing, like Shopify: one bad quantity and none is changed.
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for variant, level, entry in planned:
        quantities = level["quantities"]
        delta = int(entry["quantity"]) - quantities[name] if absolute else int(entry["delta"])
        quantities[name] += delta
        if name == "available":
            quantities["on_hand"] += delta  # a correction of what can be sold is a physical one
        shop.create_calls["inventory"][f"{variant['sku']}@{level['location']['name']}"] += 1
        changes.append(
            {
                "name": name,
                "delta": delta,
                "quantityAfterChange": quantities[name],
                "item": {"id": variant["inventoryItem"]["id"]},
                "location": {"id": level["location"]["id"]},
            }
        )
    group = {
        "id": shop.next_id("InventoryAdjustmentGroup"),
        "createdAt": now_utc(),
        "reason": given.get("reason"),
        "referenceDocumentUri": given.get("referenceDocumentUri"),
        "changes": changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _money_value(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _bulk_update(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    product_id = str(variables.get("productId") or "")
    if not any(p["id"] == product_id for p in shop.products):
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [
                user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
            ],
        }
    errors, planned = [], []
    for index, change in enumerate(variables.get("variants") or []):
        variant = next(
            (
                v
                for v in shop.variants
                if v["id"] == change.get("id") and v["product"]["id"] == product_id
            ),
            None,
        )
        if variant is None:
            errors.append(
                user_error(
                    ["variants", index, "id"],
                    "Product variant does not exist",
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                )
            )
            continue
        for key in ("price", "compareAtPrice"):
            if key in change and change[key] is not None:
                value = _money_value(change[key])
                if value is None or value < 0:
                    label = "Price" if key == "price" else "Compare at price"
                    errors.append(
                        user_error(
                            ["variants", index, key],
                            f"{label} must be greater than or equal to 0",
                            "GREATER_THAN_OR_EQUAL_TO",
                        )
                    )
        planned.append((variant, change))
    if errors:
        return {"product": None, "productVariants": None, "userErrors": errors}
    for variant, change in planned:
        for key in ("price", "compareAtPrice"):
            if key in change:
                value = change[key]
                variant[key] = (
                    None if value is None else str(Decimal(str(value)).quantize(data.TWO))
                )
        shop.create_calls["prices"][variant["sku"]] += 1
    return {
        "product": {"id": product_id},
        "productVariants": [variant_shape(v) for v, _ in planned],
        "userErrors": [],
    }


def _fulfil(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    given = variables.get("fulfillment") or {}
    groups = given.get("lineItemsByFulfillmentOrder") or []
    if not groups:
        return {
            "fulfillment": None,
            "userErrors": [
                user_error(
                    ["fulfillment", "lineItemsByFulfillmentOrder"],
                    "Line items by fulfillment order can't be blank",
                )
            ],
        }
    targets = []
    for index, group in enumerate(groups):
        wanted = str(group.get("fulfillmentOrderId"))
        found = next(
            (
                (o, fo)
                for o in shop.orders
                for fo in o["fulfillmentOrders"]["nodes"]
                if fo["id"] == wanted
            ),
            None,
        )
        at = ["fulfillment", "lineItemsByFulfillmentOrder", index, "fulfillmentOrderId"]
        if found is None:
            return {
                "fulfillment": None,
                "userErrors": [user_error(at, "Fulfillment order does not exist.")],
            }
        if found[1]["status"] not in ("OPEN", "IN_PROGRESS", "SCHEDULED"):
            status = found[1]["status"].lower()
            return {
                "fulfillment": None,
                "userErrors": [
                    user_error(
                        at, f"Fulfillment order {wanted} has an unfulfillable status= {status}."
                    )
                ],
            }
        targets.append(found)
    tracking = given.get("trackingInfo") or {}
    if tracking.get("url") and not str(tracking["url"]).startswith(("http://", "https://")):
        return {
            "fulfillment": None,
            "userErrors": [
                user_error(["fulfillment", "trackingInfo", "url"], "Url is not a valid URL")
            ],
        }
    order = targets[0][0]
    for _order_of, fulfillment_order in targets:
        fulfillment_order["status"] = "CLOSED"
    fulfillment = {
        "id": shop.next_id("Fulfillment"),
        "status": "SUCCESS",
        "createdAt": now_utc(),
        "trackingInfo": [
            {
                "number": tracking.get("number"),
                "company": tracking.get("company"),
                "url": tracking.get("url"),
            }
        ]
        if tracking
        else [],
    }
    order["fulfillments"].append(fulfillment)
    order["displayFulfillmentStatus"] = "FULFILLED"
    shop.touch(order)
    shop.create_calls["fulfillments"][order["name"]] += 1
    shop.notifications += bool(given.get("notifyCustomer"))
    return {"fulfillment": fulfillment, "userErrors": []}


def _capture(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    given = variables.get("input") or {}
    order = shop.order(str(given.get("id")))
    if order is None:
        return {"transaction": None, "userErrors": [user_error(["id"], "Order does not exist")]}
    parent = next(
        (t for t in order["transactions"] if t["id"] == given.get("parentTransactionId")), None
    )
    amount = _money_value(given.get("amount"))
    capturable = Decimal(order["totalCapturableSet"]["shopMoney"]["amount"])
    problem = None
    if parent is None or parent["kind"] != "AUTHORIZATION" or parent["status"] != "SUCCESS":
        problem = (["parentTransactionId"], "Parent transaction must be a successful authorization")
    elif not order["capturable"]:
        problem = (["id"], "Order is not capturable")
    elif amount is None or amount <= 0:
        problem = (["amount"], "Amount must be greater than 0")
    elif amount > capturable:
        problem = (["amount"], f"Amount {amount} exceeds the capturable amount {capturable}")
    elif given.get("currency") not in (None, order["presentmentCurrencyCode"]):
        problem = (["currency"], "Currency must match the order's presentment currency")
    if problem:
        return {"transaction": None, "userErrors": [user_error(*problem)]}
    assert amount is not None and parent is not None
    transaction = {
        "id": shop.next_id("OrderTransaction"),
        "kind": "CAPTURE",
        "status": "SUCCESS",
        "gateway": parent["gateway"],
        "amountSet": data.money(amount),
        "parentTransaction": {"id": parent["id"]},
        "processedAt": now_utc(),
    }
    order["transactions"].append(transaction)
    remaining = capturable - amount
    order["totalCapturableSet"] = data.money(remaining)
    order["capturable"] = remaining > 0
    order["displayFinancialStatus"] = "PARTIALLY_PAID" if remaining > 0 else "PAID"
    shop.touch(order)
    shop.create_calls["captures"][order["name"]] += 1
    return {"transaction": transaction, "userErrors": []}


PRODUCT_STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT")


def _product_errors(given: dict[str, Any], *, creating: bool) -> list[dict[str, Any]]:
    errors = []
    if creating and not str(given.get("title") or "").strip():
        errors.append(user_error(["input", "title"], "Title can't be blank", "BLANK"))
    if "status" in given and given["status"] not in PRODUCT_STATUSES:
        errors.append(user_error(["input", "status"], "Status is invalid", "INVALID"))
    for index, variant in enumerate(given.get("variants") or []):
        if "price" in variant:
            price = _money_value(variant["price"])
            if price is None or price < 0:
                errors.append(
                    user_error(
                        ["input", "variants", index, "price"],
                        "Price must be greater than or equal to 0",
                        "INVALID_VARIANT",
                    )
                )
        if not variant.get("optionValues"):
            errors.append(
                user_error(
                    ["input", "variants", index, "optionValues"],
                    "Option values can't be blank",
                    "INVALID_VARIANT",
                )
            )
    return errors


def _product_set(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    """Create a product with the variants given (no id), or change an existing one's title,
    status and product type (with an id; replacing its variants is not modelled). Shopify lets
    a SKU exist twice: nothing here refuses one, which is why callers search first."""
    given = variables.get("input") or {}
    product = next((p for p in shop.products if p["id"] == given.get("id")), None)
    if given.get("id") and product is None:
        error = user_error(["input", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
        return {"product": None, "userErrors": [error]}
    errors = _product_errors(given, creating=product is None)
    if errors:
        return {"product": None, "userErrors": errors}
    if product is not None:
        return {"product": _change_product(shop, product, given), "userErrors": []}
    variants_given = given.get("variants") or []
    single = len(variants_given) <= 1
    product = data.product_record(
        shop.next_id("Product"), str(given["title"]), str(given.get("productType") or ""), single
    )
    product.update(status=given.get("status", "ACTIVE"), updatedAt=now_utc())
    shop.products.append(product)
    created = []
    for variant_given in variants_given:
        option = (variant_given.get("optionValues") or [{}])[0]
        taxable = bool(variant_given.get("taxable", True))
        variant = {
            "id": shop.next_id("ProductVariant"),
            "sku": str(variant_given.get("sku") or ""),
            "title": str(option.get("name") or "Default Title"),
            "price": str(_money_value(variant_given.get("price", "0")).quantize(data.TWO)),
            "compareAtPrice": None,
            "taxable": taxable,
            "updatedAt": product["updatedAt"],
            "product": {
                "id": product["id"],
                "title": product["title"],
                "hasOnlyDefaultVariant": single,
            },
            "inventoryItem": {"id": shop.next_id("InventoryItem"), "levels": []},
            "vat": data.vat_for(product["productType"], taxable),
        }
        shop.variants.append(variant)
        created.append(variant)
        shop.create_calls["products"][variant["sku"]] += 1
    return {
        "product": {
            **product,
            "variants": {"nodes": [variant_shape(v) for v in created]},
        },
        "userErrors": [],
    }


def _change_product(shop: Shop, product: dict[str, Any], given: dict[str, Any]) -> dict:
    for key in ("title", "status", "productType"):
        if key in given:
            product[key] = given[key]
    product["updatedAt"] = now_utc()
    for variant in shop.variants:
        if variant["product"]["id"] == product["id"]:
            variant["product"]["title"] = product["title"]
            variant["vat"] = data.vat_for(product["productType"], variant["taxable"])
    shop.create_calls["product_updates"][product["id"]] += 1
    return product


def _product_update(shop: Shop, variables: dict[str, Any]) -> dict[str, Any]:
    given = variables.get("product") or {}
    product = next((p for p in shop.products if p["id"] == given.get("id")), None)
    if product is None:
        return {"product": None, "userErrors": [user_error(["id"], "Product does not exist")]}
    errors = _product_errors(given, creating=False)
    if errors:
        return {"product": None, "userErrors": errors}
    return {"product": _change_product(shop, product, given), "userErrors": []}


MUTATIONS: dict[str, Callable[[Shop, dict[str, Any]], Any]] = {
    "productSet": _product_set,
    "productUpdate": _product_update,
    "inventorySetQuantities": lambda shop, v: _inventory(shop, v, absolute=True),
    "inventoryAdjustQuantities": lambda shop, v: _inventory(shop, v, absolute=False),
    "productVariantsBulkUpdate": _bulk_update,
    "fulfillmentCreate": _fulfil,
    "orderCapture": _capture,
}
