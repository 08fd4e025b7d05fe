"""A Shopify order (GraphQL `Order`, see shopify_queries.ORDER_FIELDS) as a ShopOrder.

The money rule: Shopify's prices include VAT when the order says `taxesIncluded` (most Swedish
shops), and our rows want prices excluding VAT. Dividing the unit price by 1 + rate and rounding
would be off by an öre on a row of three books at 249 kr. Instead each row starts from what
Shopify itself charged and taxed for the whole line: net = (unit × quantity − discount) − tax.
The unit price is that net divided back by the quantity, to two decimals when that is exact and
to four when not, so that unit × quantity gives the line's net to the öre again.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.clients.types import Address, ShopCustomer, ShopOrder, ShopOrderRow

TWO = Decimal("0.01")
FOUR = Decimal("0.0001")
HUNDRED = Decimal("100")

# Order attributes (checkout fields) where Swedish shops commonly collect a company's numbers:
# Shopify itself has no field for an organisation number outside B2B.
ORGANISATION_NUMBER_KEYS = ("organisationsnummer", "org_nr", "orgnr", "organisation_number")
VAT_NUMBER_KEYS = ("momsregistreringsnummer", "vat_number", "vat", "momsnummer")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _money(money_set: dict[str, Any] | None) -> Decimal:
    return _dec(((money_set or {}).get("shopMoney") or {}).get("amount"))


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _percent(value: Decimal) -> Decimal:
    """25.0 → 25, 12.5 → 12.5: the VAT rate as the engine compares it."""
    quantized = value.quantize(TWO, ROUND_HALF_UP)
    return (
        quantized.to_integral_value()
        if quantized == quantized.to_integral_value()
        else (quantized.normalize())
    )


def unit_price(total: Decimal, quantity: Decimal) -> Decimal:
    """`total / quantity` to two decimals if that is exact, else to four."""
    if quantity == 0:
        return total.quantize(TWO, ROUND_HALF_UP)
    exact = total / quantity
    two = exact.quantize(TWO, ROUND_HALF_UP)
    return two if two * quantity == total else exact.quantize(FOUR, ROUND_HALF_UP)


def shopify_row(
    *,
    article_number: str,
    description: str,
    quantity: Decimal,
    unit_price_as_charged: Decimal,
    discount: Decimal,
    tax_lines: list[dict[str, Any]],
    taxes_included: bool,
    is_shipping: bool = False,
) -> ShopOrderRow:
    """One row from what Shopify charged: the unit price (incl. VAT when `taxes_included`),
    the discount allocated to the whole line and the tax it charged on the line."""
    rate = sum((_dec(t.get("rate")) for t in tax_lines), Decimal("0"))
    tax = sum((_money(t.get("priceSet")) for t in tax_lines), Decimal("0"))
    before = unit_price_as_charged * quantity
    after = before - discount
    net_after = after - tax if taxes_included else after

    percent = Decimal("0")
    if discount > 0 and before > 0:
        candidate = (discount / before * HUNDRED).quantize(TWO, ROUND_HALF_UP)
        # Only a percentage that gives back Shopify's discount to the öre; a fixed amount off
        # (100 kr off the order, spread over the lines) goes into the price instead.
        if (before * candidate / HUNDRED).quantize(TWO, ROUND_HALF_UP) == discount:
            percent = candidate

    if percent == HUNDRED:
        # A free item: the price before the discount cannot be derived from a net of zero.
        net_before = before / (1 + rate) if taxes_included else before
    elif percent:
        net_before = net_after / (1 - percent / HUNDRED)
    else:
        net_before = net_after
    return ShopOrderRow(
        article_number=article_number,
        description=description,
        quantity=quantity,
        unit_price=unit_price(net_before, quantity),
        discount_percent=percent,
        vat_rate=_percent(rate * HUNDRED),
        is_shipping=is_shipping,
    )


def _allocated(node: dict[str, Any]) -> Decimal:
    return sum(
        (_money(d.get("allocatedAmountSet")) for d in node.get("discountAllocations") or []),
        Decimal("0"),
    )


def _rows(data: dict[str, Any]) -> list[ShopOrderRow]:
    included = bool(data.get("taxesIncluded"))
    rows = [
        shopify_row(
            article_number=str(item.get("sku") or ""),
            description=str(item.get("name") or item.get("sku") or ""),
            quantity=_dec(item.get("quantity")),
            unit_price_as_charged=_money(item.get("originalUnitPriceSet")),
            discount=_allocated(item),
            tax_lines=item.get("taxLines") or [],
            taxes_included=included,
        )
        for item in (data.get("lineItems") or {}).get("nodes") or []
    ]
    rows.extend(
        shopify_row(
            article_number="",
            description=str(line.get("title") or "Frakt"),
            quantity=Decimal("1"),
            unit_price_as_charged=_money(line.get("originalPriceSet")),
            discount=_allocated(line),
            tax_lines=line.get("taxLines") or [],
            taxes_included=included,
            is_shipping=True,
        )
        for line in (data.get("shippingLines") or {}).get("nodes") or []
    )
    return rows


def _address(address: dict[str, Any] | None) -> Address | None:
    if not address:
        return None
    person = address.get("name") or " ".join(
        filter(None, [address.get("firstName"), address.get("lastName")])
    )
    return Address(
        name=str(address.get("company") or person or ""),
        line1=str(address.get("address1") or ""),
        line2=str(address.get("address2") or ""),
        postal_code=str(address.get("zip") or ""),
        city=str(address.get("city") or ""),
        country_code=str(address.get("countryCodeV2") or "SE").upper(),
    )


def _attribute(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    for attribute in data.get("customAttributes") or []:
        if str(attribute.get("key") or "").strip().lower() in keys:
            return str(attribute.get("value") or "").strip()
    return ""


def _customer(data: dict[str, Any]) -> ShopCustomer:
    buyer = data.get("customer") or {}
    billing = data.get("billingAddress") or {}
    company = ((data.get("purchasingEntity") or {}).get("company") or {}).get("name")
    company_name = str(company or billing.get("company") or "")
    person = " ".join(filter(None, [buyer.get("firstName"), buyer.get("lastName")])) or str(
        billing.get("name") or ""
    )
    is_company = bool(company_name)
    return ShopCustomer(
        shop_customer_id=str(buyer.get("legacyResourceId") or ""),
        is_company=is_company,
        name=company_name or person,
        email=str(data.get("email") or buyer.get("email") or ""),
        phone=str(data.get("phone") or buyer.get("phone") or billing.get("phone") or ""),
        organisation_number=_attribute(data, ORGANISATION_NUMBER_KEYS) if is_company else "",
        vat_number=_attribute(data, VAT_NUMBER_KEYS) if is_company else "",
        billing=_address(billing),
        shipping=_address(data.get("shippingAddress")) or _address(billing),
    )


def order_status(data: dict[str, Any]) -> str:
    """Cancelled wins; otherwise Shopify's financial status (PAID, AUTHORIZED, REFUNDED, …),
    which is what decides whether an order is ready to invoice."""
    if data.get("cancelledAt"):
        return "Cancelled"
    return str(data.get("displayFinancialStatus") or "PENDING")


def order_from_shopify(data: dict[str, Any]) -> ShopOrder:
    return ShopOrder(
        shop_order_id=str(data["legacyResourceId"]),
        # "#1001" is what the merchant and the shopper see; the "#" is decoration.
        order_number=str(data.get("name") or data["legacyResourceId"]).lstrip("#"),
        status=order_status(data),
        channel="",
        created_at=_time(data["createdAt"]),
        updated_at=_time(data["updatedAt"]),
        currency=str(data.get("currencyCode") or "SEK"),
        customer=_customer(data),
        rows=_rows(data),
        total_incl_vat=_money(data.get("totalPriceSet")).quantize(TWO),
    )


# --- the incremental order cursor ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderCursor:
    """Where the order sweep stands, saved between runs by the engine.

    A sweep asks for `updated_at >= since` sorted by update time and pages through it with
    Shopify's own `after` cursor. `>=` rather than `>` because Shopify's times have whole seconds:
    an order updated later in the same second as the last one we saw would otherwise be lost.
    `seen` lists the ids we already delivered at exactly `since`, so they are not delivered again.
    """

    since: str = ""
    seen: tuple[str, ...] = ()
    after: str = ""

    def encode(self) -> str:
        if not self.since and not self.after:
            return ""
        return f"{self.since}|{','.join(self.seen)}|{self.after}"

    @classmethod
    def decode(cls, cursor: str) -> OrderCursor:
        if not cursor:
            return cls()
        parts = cursor.split("|", 2)
        if len(parts) != 3:
            raise ValueError(f"Not a Shopify order cursor: {cursor!r}")
        since, seen, after = parts
        if since:
            datetime.datetime.fromisoformat(since.replace("Z", "+00:00"))  # rejects garbage
        if seen and not all(i.isdigit() for i in seen.split(",")):
            raise ValueError(f"Not a Shopify order cursor: {cursor!r}")
        return cls(since, tuple(seen.split(",")) if seen else (), after)

    def already_seen(self, node: dict[str, Any]) -> bool:
        return node["updatedAt"] == self.since and str(node["legacyResourceId"]) in self.seen

    def after_sweep(self, last_page: list[dict[str, Any]]) -> OrderCursor:
        """The start of the next sweep: the newest update time we delivered."""
        if not last_page:
            return OrderCursor(self.since, self.seen)
        newest = last_page[-1]["updatedAt"]
        ids = [str(n["legacyResourceId"]) for n in last_page if n["updatedAt"] == newest]
        earlier = self.seen if newest == self.since else ()
        return OrderCursor(newest, tuple(dict.fromkeys([*earlier, *ids])))
