"""Norce Commerce Connect (/commerce/connect/4.0) as the Jetshop sandbox serves it.

- POST Order/SendOrderStatus   SendOrderStatusRequest {ClientOrderRef | ErpOrderNo, OrderStatus,
                               Infos[{Code, Value}]}: SendEmail, FreightForwarder, TrackingCode
- POST Order/CreateInvoice     Invoice: captures the order's payment; InvoiceNo must be unique
- POST Product/ImportProducts, Product/ImportPriceLists, Product/ImportSkuPriceLists,
  Product/ImportOnhands        {"Header", <items>}: validated at once, applied asynchronously;
                               the answer is a JobResponse {StatusCode, Description, JobId,
                               ValidationSummary}
- GET  Job/Get?id=             JobDto: Queued → Initialized on the first look → Succeeded (or
                               Failed / ValidationFailed) on the next, when the items are applied

Writes are counted per natural key in the shop's `writes` (products by PartNo, prices by
PartNo@PriceListCode, stock by PartNo@Warehouse/Location, price lists by code, invoices by
InvoiceNo, status by OrderNo:Status).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shops.sandbox.jetshop_store import Shop
from shops.sandbox.state import Response, now_utc

# SendOrderStatusRequest.OrderStatus → the order's StatusId.
STATUS_IDS = {
    "Created": 0,
    "Allocation": 1,
    "Confirmed": 2,
    "BackOrder": 3,
    "Delivered": 4,
    "Invoiced": 5,
    "Cancelled": 6,
    "CreditControl": 7,
    "PartlyDelivered": 8,
    "Acknowledged": 9,
}
IMPORTS = {
    "importproducts": ("Products", "products"),
    "importpricelists": ("PriceLists", "price_lists"),
    "importskupricelists": ("SkuPriceLists", "prices"),
    "importonhands": ("SkuOnhands", "stock"),
}
QUEUED, INITIALIZED, SUCCEEDED, VALIDATION_FAILED = 6, 1, 2, 4


def odata_error(status: int, code: str, message: str, target: str = "") -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if target:
        body["target"] = target
    return Response(status, {"error": body})


def handle(method: str, path: str, query: dict[str, str], body: Any, shop: Shop) -> Response:
    """`path` is below /commerce/connect/4.0, lower case."""
    if method == "GET" and path == "/job/get":
        return _job(query.get("id", ""), shop)
    if method != "POST":
        return odata_error(405, "MethodNotAllowed", f"{method} is not supported on {path}.")
    if not isinstance(body, dict):
        return odata_error(400, "BadRequest", "The request body must be a JSON object.")
    if path == "/order/sendorderstatus":
        return _send_order_status(body, shop)
    if path == "/order/createinvoice":
        return _create_invoice(body, shop)
    kind = path.removeprefix("/product/")
    if kind in IMPORTS:
        return _accept_import(kind, body, shop)
    return odata_error(404, "NotFound", f"No Connect method {path}.")


# --- orders --------------------------------------------------------------------------------------


def _send_order_status(body: dict[str, Any], shop: Shop) -> Response:
    status = body.get("OrderStatus")
    if status not in STATUS_IDS:
        return odata_error(400, "BadRequest", f"Unknown OrderStatus {status!r}.", "OrderStatus")
    order = shop.find_order(body.get("ClientOrderRef"), body.get("ErpOrderNo"))
    if order is None:
        return odata_error(
            404, "NotFound", "No order matches ClientOrderRef or ErpOrderNo.", "ClientOrderRef"
        )
    infos = {str(i.get("Code")): str(i.get("Value")) for i in body.get("Infos") or []}
    shop.change_order(order, {"StatusId": STATUS_IDS[status], "Updated": now_utc()})
    update = {
        "OrderId": order["Id"],
        "OrderNo": order["OrderNo"],
        "OrderStatus": status,
        "SendEmail": infos.get("SendEmail", "false").lower() == "true",
        "FreightForwarder": infos.get("FreightForwarder", ""),
        "TrackingCode": infos.get("TrackingCode", ""),
    }
    shop.status_updates.append(update)
    if update["SendEmail"]:
        person = (order.get("BillTo") or {}).get("Person") or {}
        shop.emails.append({"To": person.get("Email", ""), **update})
    shop.writes["order_status"][f"{order['OrderNo']}:{status}"] += 1
    return Response(200, None)


def _create_invoice(body: dict[str, Any], shop: Shop) -> Response:
    for field in ("InvoiceNo", "CurrencyCode", "InvoiceDate"):
        if not body.get(field):
            return odata_error(400, "BadRequest", f"{field} is required.", field)
    order = shop.find_order(body.get("ClientOrderRef"), body.get("ErpOrderNo"))
    if order is None:
        return odata_error(
            404, "NotFound", "No order matches ClientOrderRef or ErpOrderNo.", "ClientOrderRef"
        )
    number = str(body["InvoiceNo"])
    shop.writes["invoices"][number] += 1
    if number in shop.invoices:
        return odata_error(
            400, "BadRequest", f"An invoice with InvoiceNo {number} already exists.", "InvoiceNo"
        )
    if not body.get("Items"):
        return odata_error(400, "BadRequest", "Items are mandatory for a PSP capture.", "Items")
    reservation = (order.get("Payments") or [{}])[0]
    payment = body.get("Payment") or {}
    if payment.get("PaymentRef") != reservation.get("PaymentRef"):
        return odata_error(
            400, "BadRequest", "Payment.PaymentRef matches no reservation of the order.", "Payment"
        )
    shop.invoices[number] = {
        "InvoiceNo": number,
        "OrderId": order["Id"],
        "OrderNo": order["OrderNo"],
        "PaymentRef": payment["PaymentRef"],
        "Captured": Decimal(str(body.get("TotalAmount") or 0)),
        "InvoiceDate": body["InvoiceDate"],
    }
    shop.writes["captures"][str(order["OrderNo"])] += 1
    return Response(200, None)


# --- asynchronous imports ------------------------------------------------------------------------


def _problems(kind: str, item: Any, shop: Shop, pending_products: set[str]) -> str:
    """Why an item cannot be imported ("" when it can)."""
    if not isinstance(item, dict):
        return "An item must be an object."
    if kind == "importproducts":
        variants = item.get("Variants") or []
        if len(variants) != 1 or not variants[0].get("PartNo"):
            return "A product needs exactly one variant with a PartNo (no variant structure)."
        part_no = str(variants[0]["PartNo"])
        names = [c.get("Name") for c in item.get("Cultures") or [] if c.get("Name")]
        if part_no not in shop.products and not names:
            return f"{part_no}: Name is required for a new product."
        pending_products.add(part_no)
        return ""
    if kind == "importpricelists":
        return "" if item.get("Code") and item.get("CurrencyCode") else "Code and CurrencyCode."
    part_no = str(item.get("PartNo") or "")
    if part_no not in shop.products and part_no not in pending_products:
        return f"{part_no or '(no PartNo)'}: no such product."
    if kind == "importskupricelists":
        if str(item.get("PriceListCode")) not in shop.price_lists:
            return f"{part_no}: no price list {item.get('PriceListCode')!r}."
        if Decimal(str(item.get("PriceSale", -1))) < 0:
            return f"{part_no}: PriceSale must be 0 or more."
        return ""
    if not item.get("WarehouseCode") or not item.get("LocationCode"):
        return f"{part_no}: WarehouseCode and LocationCode are required."
    if Decimal(str(item.get("OnhandValue", -1))) < 0:
        return f"{part_no}: OnhandValue must be 0 or more."
    return ""


def _accept_import(kind: str, body: dict[str, Any], shop: Shop) -> Response:
    list_name, _label = IMPORTS[kind]
    if not isinstance(body.get("Header"), dict) or not isinstance(body.get(list_name), list):
        return odata_error(
            400, "BadRequest", f"The body must be {{Header, {list_name}: [...]}}.", list_name
        )
    valid, messages = [], []
    pending: set[str] = set()
    for item in body[list_name]:
        problem = _problems(kind, item, shop, pending)
        if problem:
            messages.append(problem)
        else:
            valid.append(item)
    job_id = shop.next_job_id
    shop.next_job_id += 1
    shop.jobs[job_id] = {
        "JobId": job_id,
        "StatusId": QUEUED,
        "IsFinished": False,
        "Totals": len(body[list_name]),
        "Fail": len(messages),
        "Insert": 0,
        "Updates": 0,
        "Start": now_utc(),
        "_kind": kind,
        "_items": valid,
        "_looks": 0,
    }
    return Response(
        200,
        {
            "StatusCode": "Queued",
            "Description": f"{len(valid)} of {len(body[list_name])} items queued for import.",
            "JobId": str(job_id),
            "ValidationSummary": {
                "NrOfItemsInTotal": len(body[list_name]),
                "NrOfValidationFailures": len(messages),
                "Messages": messages,
            },
        },
    )


def _job(job_id: str, shop: Shop) -> Response:
    job = shop.jobs.get(int(job_id)) if job_id.isdigit() else None
    if job is None:
        return odata_error(404, "NotFound", f"No job {job_id}.", "id")
    job["_looks"] += 1
    if not job["IsFinished"]:
        if job["_looks"] == 1:
            job["StatusId"] = INITIALIZED
        else:
            inserts, updates = _apply(job["_kind"], job["_items"], shop)
            job.update(
                StatusId=SUCCEEDED if job["_items"] else VALIDATION_FAILED,
                IsFinished=True,
                Insert=inserts,
                Updates=updates,
                Stop=now_utc(),
            )
    job["LastUpdated"] = now_utc()
    return Response(200, {k: v for k, v in job.items() if not k.startswith("_")})


def _apply(kind: str, items: list[dict[str, Any]], shop: Shop) -> tuple[int, int]:
    inserts = updates = 0
    for item in items:
        if kind == "importproducts":
            variant = item["Variants"][0]
            key = str(variant["PartNo"])
            target, index = shop.products, key
            names = [c["Name"] for c in variant.get("Cultures") or item.get("Cultures") or []]
            row = {
                "PartNo": key,
                "ManufacturerPartNo": variant.get("ManufacturerPartNo") or key,
                "Status": variant.get("Status") or "Active",
                "VatRate": Decimal(str(variant.get("VatRate", 25))),
                "Updated": now_utc(),
                **({"Name": names[0]} if names else {}),
            }
            if key not in shop.products:
                row["ProductId"] = 5000 + len(shop.products) + 1
            label = "products"
        elif kind == "importpricelists":
            key = str(item["Code"])
            target, index, label = shop.price_lists, key, "price_lists"
            row = {**item}
            if key not in shop.price_lists:
                row["Id"] = len(shop.price_lists) + 1
        elif kind == "importskupricelists":
            key = f"{item['PartNo']}@{item['PriceListCode']}"
            target, index, label = shop.prices, (item["PartNo"], item["PriceListCode"]), "prices"
            price_list = shop.price_lists[str(item["PriceListCode"])]
            row = {
                "PartNo": item["PartNo"],
                "PriceListId": price_list["Id"],
                "PriceListCode": item["PriceListCode"],
                "PriceSale": Decimal(str(item["PriceSale"])),
                "PriceCatalog": (
                    Decimal(str(item["PriceCatalog"])) if item.get("PriceCatalog") else None
                ),
                "QtyBreak": int(item.get("QuantityBreak") or 1),
                "IsActive": True,
            }
        else:
            place = (item["PartNo"], item["WarehouseCode"], item["LocationCode"])
            key = f"{place[0]}@{place[1]}/{place[2]}"
            target, index, label = shop.onhands, place, "stock"
            row = {
                "PartNo": item["PartNo"],
                "WarehouseCode": item["WarehouseCode"],
                "LocationCode": item["LocationCode"],
                "OnhandValue": Decimal(str(item["OnhandValue"])),
                "IncomingValue": Decimal(str(item.get("IncomingValue") or 0)),
            }
        if index in target:
            target[index].update(row)  # type: ignore[index]
            updates += 1
            shop.writes[f"{label}_updated"][key] += 1
        else:
            target[index] = row  # type: ignore[index]
            inserts += 1
            shop.writes[f"{label}_created"][key] += 1
    return inserts, updates
