"""WooCommerce order JSON (REST API v3) → ShopOrder, and the incremental order cursor.

Amounts on WooCommerce order lines are excluding VAT whatever `prices_include_tax` says: the
shop stores each line's `subtotal` (before discounts) and `total` (after), with the VAT beside
them (`subtotal_tax`, `total_tax`) and split per tax rate in `taxes[]`, whose ids point at the
order's `tax_lines[].rate_id`. The rate itself is `tax_lines[].rate_percent` (WooCommerce 5.7+).
We take the VAT rate from there and nowhere else: a line whose rate cannot be read that way is
marked `vat_rate_known=False`, and the engine rejects the order instead of booking a guess.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shops.clients.types import Address, ShopCustomer, ShopOrder, ShopOrderRow

TWO = Decimal("0.01")
ZERO = Decimal("0")
# WooCommerce core has no field for a Swedish organisation number or a VAT number; checkout
# plugins keep them in the order's meta data under their own keys. These are the ones we read.
ORGANISATION_NUMBER_KEYS = (
    "_billing_organisation_number",
    "_billing_org_nr",
    "billing_org_nr",
    "_billing_company_number",
)
VAT_NUMBER_KEYS = ("_billing_vat_number", "_vat_number", "vat_number", "_billing_eu_vat_number")


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else ZERO
    except InvalidOperation:
        return ZERO


def parse_gmt(value: str) -> datetime.datetime:
    """WooCommerce's `*_gmt` fields: ISO 8601 without an offset, in UTC."""
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


# --- the cursor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderCursor:
    """The last order delivered: its `date_modified_gmt` exactly as WooCommerce sent it, and its
    id, which orders ties between orders modified in the same second."""

    modified: str = ""
    order_id: int = 0

    def encode(self) -> str:
        return f"{self.modified}|{self.order_id}" if self.modified else ""

    @classmethod
    def decode(cls, cursor: str) -> OrderCursor:
        if not cursor:
            return cls()
        modified, sep, order_id = cursor.rpartition("|")
        if not sep or not modified or not order_id.isdigit():
            raise ValueError(f"Not a WooCommerce order cursor: {cursor!r}")
        parse_gmt(modified)  # rejects anything that is not a date
        return cls(modified, int(order_id))

    def window_start(self) -> str:
        """`modified_after` for the next request. WooCommerce's is exclusive and its times have
        whole seconds, so we ask from one second earlier: an order modified later in the same
        second as the cursor must not be lost. `is_new` drops what we already delivered."""
        start = parse_gmt(self.modified) - datetime.timedelta(seconds=1)
        return start.replace(tzinfo=None).isoformat(timespec="seconds")

    def is_new(self, order: dict[str, Any]) -> bool:
        if not self.modified:
            return True
        return sort_key(order) > (parse_gmt(self.modified), self.order_id)


def sort_key(order: dict[str, Any]) -> tuple[datetime.datetime, int]:
    return parse_gmt(order["date_modified_gmt"]), int(order["id"])


# --- order → ShopOrder ------------------------------------------------------------------------


def order_from_woocommerce(data: dict[str, Any]) -> ShopOrder:
    rates = _rates(data)
    rows = [_line_row(item, rates) for item in data.get("line_items") or []]
    rows += [_shipping_row(line, rates) for line in data.get("shipping_lines") or []]
    rows += [_fee_row(fee, rates) for fee in data.get("fee_lines") or []]
    return ShopOrder(
        shop_order_id=str(data["id"]),
        order_number=str(data.get("number") or data["id"]),
        status=str(data.get("status") or ""),
        channel="",
        created_at=parse_gmt(data["date_created_gmt"]),
        updated_at=parse_gmt(data["date_modified_gmt"]),
        currency=str(data.get("currency") or "SEK"),
        customer=_customer(data),
        rows=rows,
        total_incl_vat=_dec(data.get("total")).quantize(TWO),
    )


def _rates(data: dict[str, Any]) -> dict[int, Decimal | None]:
    """Tax rate id → VAT percent, from the order's own tax lines. None when a line lacks
    `rate_percent` (WooCommerce before 5.7) or the rate is compound (tax on tax is not VAT)."""
    rates: dict[int, Decimal | None] = {}
    for line in data.get("tax_lines") or []:
        percent = line.get("rate_percent")
        known = percent is not None and not line.get("compound")
        rates[int(line.get("rate_id") or 0)] = _dec(percent) if known else None
    return rates


def vat_rate(
    taxes: list[dict[str, Any]], tax_amount: Decimal, rates: dict[int, Decimal | None]
) -> Decimal | None:
    """The single VAT rate of a line, or None when the order does not say which one."""
    charged = [t for t in taxes if _dec(t.get("total")) or _dec(t.get("subtotal"))]
    if not charged:
        # No tax charged and none claimed: the line is untaxed, which the order states. A tax
        # amount without a rate behind it is something we cannot place.
        return ZERO if not tax_amount else None
    ids = {int(t.get("id") or 0) for t in charged}
    if len(ids) != 1:
        return None  # several rates on one line: no single VAT rate to book it at
    return rates.get(ids.pop())


def _line_row(item: dict[str, Any], rates: dict[int, Decimal | None]) -> ShopOrderRow:
    quantity = _dec(item.get("quantity"))
    subtotal, total = _dec(item.get("subtotal")), _dec(item.get("total"))
    unit_price, discount = _price_and_discount(subtotal, total, quantity)
    rate = vat_rate(item.get("taxes") or [], _dec(item.get("total_tax")), rates)
    return ShopOrderRow(
        article_number=str(item.get("sku") or ""),
        description=str(item.get("name") or item.get("sku") or ""),
        quantity=quantity,
        unit_price=unit_price,
        discount_percent=discount,
        vat_rate=rate if rate is not None else ZERO,
        vat_rate_known=rate is not None,
    )


def _price_and_discount(
    subtotal: Decimal, total: Decimal, quantity: Decimal
) -> tuple[Decimal, Decimal]:
    """Unit price excl. VAT before discount, and the discount percent that gives back the line's
    total to the öre. Coupons are spread over lines in whole öre, so the percent may need more
    than two decimals; when none gives the exact total, the discounted price is used instead
    (money must not drift, and the discount is then already in the price)."""
    if not quantity:
        return ZERO, ZERO
    unit = (subtotal / quantity).quantize(Decimal("0.0001")).normalize()
    if not subtotal or total >= subtotal:
        return _plain(unit), ZERO
    for places in (TWO, Decimal("0.0001")):
        percent = ((subtotal - total) / subtotal * 100).quantize(places)
        if (subtotal * (1 - percent / 100)).quantize(TWO) == total:
            return _plain(unit), _plain(percent.normalize())
    return _plain((total / quantity).quantize(Decimal("0.0001")).normalize()), ZERO


def _plain(value: Decimal) -> Decimal:
    # normalize() may leave an exponent (1E+3); money reads better with two decimals at least.
    return value if value.as_tuple().exponent <= -2 else value.quantize(TWO)


def _shipping_row(line: dict[str, Any], rates: dict[int, Decimal | None]) -> ShopOrderRow:
    rate = vat_rate(line.get("taxes") or [], _dec(line.get("total_tax")), rates)
    return ShopOrderRow(
        article_number="",
        description=str(line.get("method_title") or line.get("method_id") or ""),
        quantity=Decimal("1"),
        unit_price=_dec(line.get("total")).quantize(TWO),
        discount_percent=ZERO,
        vat_rate=rate if rate is not None else ZERO,
        is_shipping=True,
        vat_rate_known=rate is not None,
    )


def _fee_row(fee: dict[str, Any], rates: dict[int, Decimal | None]) -> ShopOrderRow:
    # A fee has no article: the engine decides what to do with it (today: reject the order).
    rate = vat_rate(fee.get("taxes") or [], _dec(fee.get("total_tax")), rates)
    return ShopOrderRow(
        article_number="",
        description=str(fee.get("name") or ""),
        quantity=Decimal("1"),
        unit_price=_dec(fee.get("total")).quantize(TWO),
        discount_percent=ZERO,
        vat_rate=rate if rate is not None else ZERO,
        vat_rate_known=rate is not None,
    )


def _meta(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    values = {m.get("key"): m.get("value") for m in data.get("meta_data") or []}
    return next((str(values[k]).strip() for k in keys if values.get(k)), "")


def _person(party: dict[str, Any]) -> str:
    return " ".join(filter(None, [party.get("first_name"), party.get("last_name")])).strip()


def _address(party: dict[str, Any], name: str) -> Address | None:
    if not party.get("address_1") and not party.get("city"):
        return None
    return Address(
        name=name,
        line1=str(party.get("address_1") or ""),
        line2=str(party.get("address_2") or ""),
        postal_code=str(party.get("postcode") or ""),
        city=str(party.get("city") or ""),
        country_code=str(party.get("country") or "SE").upper(),
    )


def _customer(data: dict[str, Any]) -> ShopCustomer:
    billing = data.get("billing") or {}
    shipping = data.get("shipping") or {}
    company = str(billing.get("company") or "").strip()
    name = company or _person(billing)
    billing_address = _address(billing, name)
    # WooCommerce leaves the shipping address empty when it is the billing address.
    shipping_address = (
        _address(shipping, str(shipping.get("company") or "").strip() or _person(shipping))
        or billing_address
    )
    customer_id = int(data.get("customer_id") or 0)
    return ShopCustomer(
        shop_customer_id=str(customer_id) if customer_id else "",  # 0 is a guest
        is_company=bool(company),
        name=name,
        email=str(billing.get("email") or ""),
        phone=str(billing.get("phone") or ""),
        organisation_number=_meta(data, ORGANISATION_NUMBER_KEYS) if company else "",
        vat_number=_meta(data, VAT_NUMBER_KEYS) if company else "",
        billing=billing_address,
        shipping=shipping_address,
    )
