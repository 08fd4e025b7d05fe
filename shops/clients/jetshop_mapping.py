"""What the Jetshop / Norce client makes of Norce's answers, and the Connect bodies it sends.

Orders: Norce's Connect Order Service shape (OrderRequest) plus the Query fields Id, OrderNo,
StatusId, Created, Updated and ApplicationId. Connect bodies (commerce/connect/4.0): the
documented SendOrderStatusRequest and Invoice (CreateInvoice, which captures the payment); the
imports (ImportProducts, ImportPriceLists, ImportSkuPriceLists, ImportOnhands) as a "Header"
telling Connect which fields are set plus the list of items, and the JobResponse / JobDto of the
Job service. Where the public documentation does not show a shape (the Query entities for SKUs,
prices and on-hand stock), the names follow Norce's Connect fields and are marked as modelled.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from shops.clients.types import (
    Address,
    NewShopPrice,
    NewShopProduct,
    NewShopStock,
    ShopChannel,
    ShopCustomer,
    ShopImportJob,
    ShopOrder,
    ShopOrderRow,
    ShopPrice,
    ShopPriceList,
    ShopProduct,
    ShopStock,
)

TWO = Decimal("0.01")
CULTURE = "sv-SE"

# Norce's order StatusId values (Query API documentation).
STATUSES = {
    0: "Created",
    1: "Allocation",
    2: "Confirmed",
    4: "Delivered",
    5: "Invoiced",
    6: "Cancelled",
    8: "PartlyDelivered",
}
# What SendOrderStatus accepts (SendOrderStatusRequest.OrderStatus).
ORDER_STATUSES = (
    "Created",
    "Allocation",
    "Confirmed",
    "BackOrder",
    "Delivered",
    "Invoiced",
    "Cancelled",
    "CreditControl",
    "PartlyDelivered",
    "Acknowledged",
)
# JobDto.StatusId (Job service and the JobCompleted event).
JOB_STATUSES = {
    1: "Initialized",
    2: "Succeeded",
    3: "Failed",
    4: "ValidationFailed",
    5: "Validating",
    6: "Queued",
}


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def _optional_dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def parse_time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Norce gives UTC; a value without an offset is read as UTC rather than left naive.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _optional_date(value: Any) -> datetime.date | None:
    return datetime.date.fromisoformat(str(value)[:10]) if value else None


def _money(value: Decimal) -> float:
    return float(Decimal(value).quantize(TWO))


# --- Norce order → ShopOrder ------------------------------------------------------------------


def order_from_norce(data: dict[str, Any]) -> ShopOrder:
    rows = [_row(item) for item in data.get("Items") or [] if item.get("ParentLineNo") is None]
    total = sum(
        (
            (_dec(item.get("UnitPrice")) + _dec(item.get("UnitVat"))) * _quantity(item)
            for item in data.get("Items") or []
            if item.get("ParentLineNo") is None
        ),
        Decimal("0"),
    )
    return ShopOrder(
        shop_order_id=str(data["Id"]),
        order_number=str(data.get("OrderNo") or data.get("ClientOrderRef") or data["Id"]),
        status=STATUSES.get(int(data.get("StatusId") or 0), str(data.get("StatusId"))),
        channel=str(data.get("ApplicationId") or ""),
        created_at=parse_time(data["Created"]),
        updated_at=parse_time(data["Updated"]),
        currency=str(data.get("CurrencyCode") or "SEK"),
        customer=_customer(data),
        rows=rows,
        total_incl_vat=total.quantize(TWO),
    )


def _quantity(item: dict[str, Any]) -> Decimal:
    # Quantity is an integer; Quantity2 carries non-integer quantities when there are any.
    return _dec(item.get("Quantity2") or item.get("Quantity") or 0)


def _row(item: dict[str, Any]) -> ShopOrderRow:
    price = _dec(item.get("UnitPrice")).quantize(TWO)
    original = _dec(item.get("UnitPriceOriginal") or item.get("UnitPrice")).quantize(TWO)
    unit_price, discount = price, Decimal("0")
    if original > price > 0:
        # Norce gives the price after discount and the original; we want original + percent,
        # but only when that percent gives back the exact price (else money would drift).
        percent = ((original - price) / original * 100).quantize(TWO)
        if (original * (1 - percent / 100)).quantize(TWO) == price:
            unit_price, discount = original, percent
    return ShopOrderRow(
        article_number=str(item.get("ErpPartNo") or item.get("PartNo") or ""),
        description=str(item.get("Description") or item.get("PartNo") or ""),
        quantity=_quantity(item),
        unit_price=unit_price,
        discount_percent=discount,
        vat_rate=_dec(item.get("VatRate")),
        is_shipping=item.get("Type") == "Freight",
    )


def _address(party: dict[str, Any] | None, name: str) -> Address | None:
    person = (party or {}).get("Person") or {}
    address = person.get("Address")
    if not address:
        return None
    return Address(
        name=name,
        line1=str(address.get("Line1") or ""),
        line2=str(address.get("Line2") or address.get("CareOf") or ""),
        postal_code=str(address.get("ZipCode") or ""),
        city=str(address.get("City") or ""),
        country_code=str(address.get("Country") or "SE").upper(),
    )


def _party_name(party: dict[str, Any] | None) -> str:
    party = party or {}
    company = party.get("Company") or {}
    person = party.get("Person") or {}
    person_name = " ".join(filter(None, [person.get("FirstName"), person.get("LastName")]))
    return str(company.get("Name") or person_name)


def _customer(data: dict[str, Any]) -> ShopCustomer:
    bill_to = data.get("BillTo") or {}
    ship_to = data.get("ShipTo") or bill_to
    company = bill_to.get("Company") or {}
    person = bill_to.get("Person") or {}
    is_company = bool(company.get("Name"))
    name = _party_name(bill_to)
    return ShopCustomer(
        shop_customer_id=str(company.get("Code") or person.get("CustomerCode") or ""),
        is_company=is_company,
        name=name,
        email=str(person.get("Email") or ""),
        phone=str(
            person.get("CellPhone") or person.get("PrivatePhone") or person.get("WorkPhone") or ""
        ),
        organisation_number=str(company.get("OrganizationNo") or "") if is_company else "",
        vat_number=str(company.get("VatNo") or "") if is_company else "",
        billing=_address(bill_to, name),
        shipping=_address(ship_to, _party_name(ship_to)),
    )


# --- Connect bodies ------------------------------------------------------------------------------


def status_body(
    raw_order: dict[str, Any],
    status: str,
    *,
    send_email: bool,
    freight_forwarder: str,
    tracking_code: str,
) -> dict[str, Any]:
    """SendOrderStatusRequest. The e-mail and tracking options travel as order infos
    (CodeValue), whose codes are configured in the merchant's Norce admin."""
    if status not in ORDER_STATUSES:
        raise ValueError(f"Norce has no order status {status!r}; one of {ORDER_STATUSES}.")
    infos = [{"Code": "SendEmail", "Value": "true" if send_email else "false"}]
    if freight_forwarder:
        infos.append({"Code": "FreightForwarder", "Value": freight_forwarder})
    if tracking_code:
        infos.append({"Code": "TrackingCode", "Value": tracking_code})
    return {
        "ClientOrderRef": int(raw_order["ClientOrderRef"]),
        "ErpOrderNo": str(raw_order.get("ErpOrderNo") or raw_order.get("OrderNo") or ""),
        "OrderStatus": status,
        "Infos": infos,
    }


def invoice_body(
    raw_order: dict[str, Any], *, invoice_no: str, invoice_date: datetime.date
) -> dict[str, Any]:
    """Invoice for CreateInvoice: the whole order, with its items (mandatory for a PSP capture)
    and the payment reservation to capture."""
    items = [i for i in raw_order.get("Items") or [] if i.get("ParentLineNo") is None]
    lines, vat = [], Decimal("0")
    for item in items:
        quantity = _dec(item.get("Quantity"))
        unit_vat = _dec(item.get("UnitVat"))
        lines.append(
            {
                "LineNo": int(item["LineNo"]),
                "PartNo": str(item.get("PartNo") or ""),
                "Description": str(item.get("Description") or ""),
                "Quantity": float(quantity),
                "UnitPrice": _money(_dec(item.get("UnitPrice"))),
                "UnitVat": _money(unit_vat),
                "VatRate": float(_dec(item.get("VatRate"))),
                "LineAmount": _money((_dec(item.get("UnitPrice")) + unit_vat) * quantity),
            }
        )
        vat += unit_vat * quantity
    payment = (raw_order.get("Payments") or [{}])[0]
    return {
        "ClientOrderRef": int(raw_order["ClientOrderRef"]),
        "ErpOrderNo": str(raw_order.get("ErpOrderNo") or raw_order.get("OrderNo") or ""),
        "CurrencyCode": str(raw_order.get("CurrencyCode") or "SEK"),
        "InvoiceDate": invoice_date.isoformat(),
        "InvoiceNo": invoice_no,
        "IsLastInvoiceForOrder": True,
        "Items": lines,
        "Payment": {
            "PaymentMethodCode": str(payment.get("PaymentMethodCode") or ""),
            "PaymentRef": str(payment.get("PaymentRef") or ""),
        },
        "TotalAmount": _money(order_from_norce(raw_order).total_incl_vat),
        "Vat": _money(vat),
    }


def products_body(products: list[NewShopProduct]) -> dict[str, Any]:
    """ImportProducts with one variant per product: the integration has no variant structure,
    so each article number is a product of its own."""
    return {
        "Header": {
            "FullFile": False,
            "ProductFieldsThatAreSet": ["Cultures", "Variants", "Categories"],
            "VariantFieldsThatAreSet": ["Status", "Cultures", "VatRate"],
        },
        "Products": [
            {
                "ManufacturerCode": p.manufacturer_code,
                "CategoryCode": p.category_code,
                "Cultures": [
                    {"CultureCode": CULTURE, "Name": p.name, "Description": p.description}
                ],
                "Variants": [
                    {
                        "PartNo": p.part_no,
                        "ManufacturerPartNo": p.part_no,
                        "Status": "Active" if p.active else "Inactive",
                        "VatRate": float(p.vat_rate),
                        "Cultures": [{"CultureCode": CULTURE, "Name": p.name}],
                    }
                ],
            }
            for p in products
        ],
    }


def price_lists_body(
    code: str,
    name: str,
    currency: str,
    valid_from: datetime.date | None,
    valid_to: datetime.date | None,
) -> dict[str, Any]:
    price_list: dict[str, Any] = {
        "Code": code,
        "Name": name,
        "CurrencyCode": currency,
        "IsActive": True,
    }
    if valid_from:
        price_list["ValidFrom"] = valid_from.isoformat()
    if valid_to:
        price_list["ValidTo"] = valid_to.isoformat()
    return {"Header": {"FullFile": False}, "PriceLists": [price_list]}


def sku_prices_body(prices: list[NewShopPrice]) -> dict[str, Any]:
    fields = ["PriceSale"] + (["PriceCatalog"] if any(p.catalog_price for p in prices) else [])
    return {
        "Header": {"FullFile": False, "SkuPriceListFieldsThatAreSet": fields},
        "SkuPriceLists": [
            {
                "PartNo": p.part_no,
                "PriceListCode": p.price_list_code,
                "QuantityBreak": 1,
                "PriceSale": _money(p.price),
                **({"PriceCatalog": _money(p.catalog_price)} if p.catalog_price else {}),
            }
            for p in prices
        ],
    }


def onhands_body(levels: list[NewShopStock]) -> dict[str, Any]:
    return {
        "Header": {"FullFile": False, "SkuOnhandFieldsThatAreSet": ["OnhandValue"]},
        "SkuOnhands": [
            {
                "PartNo": s.part_no,
                "WarehouseCode": s.warehouse_code,
                "LocationCode": s.location_code,
                "OnhandValue": float(s.on_hand),
            }
            for s in levels
        ],
    }


# --- Query and Job answers -----------------------------------------------------------------------


def to_job(data: dict[str, Any]) -> ShopImportJob:
    """A JobResponse (what an import answers) or a JobDto (what Job/Get answers)."""
    if "StatusId" in data:
        status = JOB_STATUSES.get(int(data["StatusId"]), str(data["StatusId"]))
        return ShopImportJob(
            job_id=str(data["JobId"]),
            status=status,
            finished=bool(data.get("IsFinished")),
            succeeded=status == "Succeeded",
            total_items=int(data.get("Totals") or 0),
            failed_items=int(data.get("Fail") or 0),
        )
    summary = data.get("ValidationSummary") or {}
    return ShopImportJob(
        job_id=str(data["JobId"]),
        status="Queued",
        finished=False,
        succeeded=False,
        total_items=int(summary.get("NrOfItemsInTotal") or 0),
        failed_items=int(summary.get("NrOfValidationFailures") or 0),
        messages=[str(m) for m in summary.get("Messages") or []],
    )


def to_product(data: dict[str, Any]) -> ShopProduct:
    return ShopProduct(
        part_no=str(data["PartNo"]),
        product_id=str(data.get("ProductId") or ""),
        name=str(data.get("Name") or ""),
        vat_rate=_optional_dec(data.get("VatRate")),
        active=str(data.get("Status") or "Active") == "Active",
        updated_at=parse_time(data["Updated"]) if data.get("Updated") else None,
    )


def to_price_list(data: dict[str, Any]) -> ShopPriceList:
    return ShopPriceList(
        id=str(data["Id"]),
        code=str(data.get("Code") or ""),
        name=str(data.get("Name") or ""),
        currency=str(data.get("CurrencyCode") or ""),
        # A price list that ends is a campaign; the standard list runs until further notice.
        is_campaign=bool(data.get("ValidTo")),
        valid_from=_optional_date(data.get("ValidFrom")),
        valid_to=_optional_date(data.get("ValidTo")),
    )


def to_price(data: dict[str, Any]) -> ShopPrice:
    return ShopPrice(
        part_no=str(data["PartNo"]),
        price_list_code=str(data.get("PriceListCode") or ""),
        price=_dec(data.get("PriceSale")).quantize(TWO),
        catalog_price=_optional_dec(data.get("PriceCatalog")),
    )


def to_stock(data: dict[str, Any]) -> ShopStock:
    return ShopStock(
        part_no=str(data["PartNo"]),
        warehouse_code=str(data.get("WarehouseCode") or ""),
        location_code=str(data.get("LocationCode") or ""),
        on_hand=_dec(data.get("OnhandValue")),
        reserved=_dec(data.get("ReservedValue")),
        incoming=_dec(data.get("IncomingValue")),
    )


def to_channel(data: dict[str, Any]) -> ShopChannel:
    return ShopChannel(
        id=str(data["Id"]),
        name=str(data.get("Name") or ""),
        currency=str(data.get("DefaultCurrencyCode") or ""),
        culture=str(data.get("DefaultCultureCode") or ""),
        is_active=bool(data.get("IsActive", True)),
    )
