"""Plain dataclasses the clients return; the engine never sees a vendor's raw JSON."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    postal_code: str
    city: str
    country_code: str  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class ShopCustomer:
    shop_customer_id: str  # the shop's own id for the buyer ("" for a guest)
    is_company: bool
    name: str  # company name, or "First Last" for a private person
    email: str
    phone: str
    organisation_number: str  # "" for private persons and when the shop has none
    vat_number: str
    billing: Address | None
    shipping: Address | None


@dataclass(frozen=True)
class ShopOrderRow:
    article_number: str  # SKU / PartNo; "" for a row with no article (e.g. a fee)
    description: str
    quantity: Decimal
    unit_price: Decimal  # excluding VAT, before discount
    discount_percent: Decimal  # 0–100
    vat_rate: Decimal  # 25, 12, 6 or 0 — always from the shop, never guessed
    is_shipping: bool = False


@dataclass(frozen=True)
class ShopOrder:
    shop_order_id: str  # the shop's internal id
    order_number: str  # what the merchant and the shopper see
    status: str
    channel: str  # Jetshop channel / shop name; "" when the shop has one channel
    created_at: datetime.datetime
    updated_at: datetime.datetime
    currency: str
    customer: ShopCustomer
    rows: list[ShopOrderRow] = field(default_factory=list)
    total_incl_vat: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class OrderPage:
    orders: list[ShopOrder]
    next_cursor: str  # pass back to continue; equal to the input when nothing new


@dataclass(frozen=True)
class ErpCustomer:
    id: str
    customer_number: str
    name: str


@dataclass(frozen=True)
class ErpArticle:
    id: str
    number: str
    name: str
    unit_price: Decimal
    is_active: bool


@dataclass(frozen=True)
class ErpInvoiceDraft:
    id: str
    your_reference: str
    customer_id: str
    total_amount: Decimal


@dataclass(frozen=True)
class ErpInvoice:
    id: str
    invoice_number: str
    your_reference: str
    customer_id: str
    total_amount: Decimal
    remaining_amount: Decimal


@dataclass(frozen=True)
class NewErpCustomer:
    customer_number: str  # ours, ≤ 16 chars, stable per shop customer: the natural key
    name: str
    is_private_person: bool
    email: str
    phone: str
    organisation_number: str
    vat_number: str
    invoice_address: Address
    delivery_address: Address | None
    currency: str
    terms_of_payment_id: str


@dataclass(frozen=True)
class NewInvoiceRow:
    article_id: str | None  # None makes a text row
    text: str
    quantity: Decimal
    unit_price: Decimal  # excluding VAT
    discount_percent: Decimal


@dataclass(frozen=True)
class NewInvoiceDraft:
    customer_id: str
    your_reference: str  # shop + order number, e.g. "WEB-3-100234": the natural key
    customer_is_private_person: bool
    invoice_address: Address
    delivery_address: Address | None
    invoice_date: datetime.date
    rows: list[NewInvoiceRow]
