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
    # False when the shop's data does not say which rate applies (vat_rate is then 0 and
    # meaningless): the engine must reject the order rather than book it at a guessed rate.
    vat_rate_known: bool = True


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
    unit_price: Decimal  # excluding VAT
    is_active: bool
    # From the article's account coding; None when the ERP did not say (never guess a rate).
    vat_rate: Decimal | None = None
    coding_id: str = ""
    unit_id: str = ""
    stock_balance: Decimal | None = None  # on hand
    stock_available: Decimal | None = None  # on hand minus reserved
    changed_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ErpInvoiceDraft:
    id: str
    your_reference: str
    customer_id: str
    total_amount: Decimal


@dataclass(frozen=True)
class ErpInvoice:
    """A customer invoice. Visma gives its amounts twice: in the invoice's own currency, which
    the buyer owes and payments and credits are made in (`PaymentAmount` is in it), and in the
    company's home currency (SEK) at the invoice's rate, which the bookkeeping holds. Anything
    compared with a payout line or a payment uses the first; a SEK invoice has both equal."""

    id: str
    invoice_number: str
    your_reference: str
    customer_id: str
    total_amount: Decimal  # in `currency` (TotalAmountInvoiceCurrency)
    remaining_amount: Decimal  # in `currency` (RemainingAmountInvoiceCurrency)
    vat_amount: Decimal  # in `currency` (TotalVatAmountInvoiceCurrency)
    currency: str  # CurrencyCode
    currency_rate: Decimal  # home currency per unit of `currency` (CurrencyRate); 1 for SEK
    home_total_amount: Decimal  # in the company's currency (TotalAmount)
    home_remaining_amount: Decimal  # (RemainingAmount)
    home_vat_amount: Decimal  # (TotalVatAmount)


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
    # Only used where the ERP wants totals up front (Visma orders); None: not known here.
    vat_rate: Decimal | None = None
    # The ERP's id of the cost centre item the row is booked on (multishop routing); "": none.
    cost_centre_id: str = ""


@dataclass(frozen=True)
class NewInvoiceDraft:
    customer_id: str
    your_reference: str  # shop + order number, e.g. "WEB-3-100234": the natural key
    customer_is_private_person: bool
    invoice_address: Address
    delivery_address: Address | None
    invoice_date: datetime.date
    rows: list[NewInvoiceRow]


# --- shop catalogue: variants, stock, prices --------------------------------------------------


@dataclass(frozen=True)
class ShopStockLevel:
    location_id: str
    location_name: str
    available: int  # what can be sold now
    on_hand: int  # physically there, incl. reserved/committed


@dataclass(frozen=True)
class ShopVariant:
    variant_id: str
    product_id: str
    sku: str
    title: str  # product title, plus the variant title when there are several
    price: Decimal  # as the shop shows it: incl. VAT when the shop's prices include tax
    compare_at_price: Decimal | None  # the "was" price; None when there is none
    inventory_item_id: str
    stock: list[ShopStockLevel] = field(default_factory=list)
    only_variant: bool = True  # Shopify: its product has no other variants


@dataclass(frozen=True)
class ShopStockChange:
    """Set the available quantity, but only if it still is `expected` (compare-and-set):
    a sale between our read and our write must not be overwritten."""

    inventory_item_id: str
    location_id: str
    quantity: int
    expected: int | None  # None: set regardless (only when we are the source of truth)


@dataclass(frozen=True)
class ShopPriceChange:
    product_id: str
    variant_id: str
    price: Decimal  # as the shop shows prices (see ShopVariant.price)
    compare_at_price: Decimal | None = None  # None clears the "was" price


# --- payment gateways: payouts and the transactions they settle -------------------------------


@dataclass(frozen=True)
class GatewayPayout:
    payout_id: str
    status: str  # the gateway's word: paid, in_transit, scheduled, failed, …
    date: datetime.date  # when the money reaches (or reached) the bank account
    currency: str
    amount: Decimal  # net paid out to the bank
    gross: Decimal  # sum of what the transactions moved, before fees
    fees: Decimal  # sum of fees, positive: a cost to the merchant
    provider: str = ""  # the Connection platform (klarna, stripe, …) when the client sets it
    # The payout as the gateway sent it (minor units and all), for the ledger's source row.
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class GatewayTransaction:
    transaction_id: str
    payout_id: str  # "" while not yet in a payout
    kind: str  # charge, refund, adjustment, dispute, payout, reserve, … as the gateway says
    amount: Decimal  # signed: money in is positive, refunds and chargebacks negative
    fee: Decimal  # positive: a cost to the merchant
    net: Decimal  # amount - fee
    currency: str
    order_reference: str  # the shop's order id as the gateway knows it; "" when none
    source_id: str
    source_type: str
    processed_at: datetime.datetime
    provider: str = ""  # the Connection platform (klarna, stripe, …) when the client sets it
    # The row as the gateway sent it, for PayoutLine.raw ("exactly as the gateway gave it").
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


# --- ERP (Visma eEkonomi): catalogue, bookkeeping, orders, payments ---------------------------


@dataclass(frozen=True)
class NewErpArticle:
    number: str  # the article number / SKU: the natural key, never cut
    name: str
    unit_price: Decimal  # excluding VAT
    coding_id: str  # the account coding, which carries the VAT rate
    unit_id: str
    is_active: bool = True
    name_english: str = ""
    purchase_price: Decimal | None = None
    stock_balance: Decimal | None = None  # None leaves the stock as it is


@dataclass(frozen=True)
class ErpAccountCoding:
    id: str
    name: str
    vat_rate: Decimal  # percent, e.g. 25
    sales_account: int | None  # domestic sales subject to VAT
    is_active: bool


@dataclass(frozen=True)
class ErpUnit:
    id: str
    name: str
    code: str
    abbreviation: str


@dataclass(frozen=True)
class ErpTermsOfPayment:
    id: str
    name: str
    days: int
    available_for_sales: bool


@dataclass(frozen=True)
class ErpVatCode:
    id: str
    code: str
    description: str
    vat_rate: Decimal  # percent


@dataclass(frozen=True)
class ErpFiscalYear:
    id: str
    start: datetime.date
    end: datetime.date
    is_locked: bool


@dataclass(frozen=True)
class ErpAccount:
    number: int
    name: str
    fiscal_year_id: str
    is_active: bool
    vat_code_id: str = ""


@dataclass(frozen=True)
class ErpBankAccount:
    id: str
    name: str
    ledger_account_number: int
    kind: int  # Visma's BankAccountType: 1 cheque, 2 cash, 3 savings, 4 currency, …
    is_active: bool
    is_default: bool


@dataclass(frozen=True)
class NewErpOrder:
    customer_id: str
    your_reference: str  # shop + order number: the natural key
    customer_is_private_person: bool
    invoice_address: Address
    delivery_address: Address | None
    order_date: datetime.date
    currency: str
    rows: list[NewInvoiceRow]


@dataclass(frozen=True)
class ErpOrder:
    id: str
    number: str
    your_reference: str
    customer_id: str
    status: str  # Draft, Ongoing, Shipped, Invoiced
    amount: Decimal  # excluding VAT
    vat_amount: Decimal
    shipped_at: datetime.datetime | None = None
    modified_at: datetime.datetime | None = None
    delivery_method: str = ""  # the name of the delivery method (the carrier, in practice)


@dataclass(frozen=True)
class ErpInvoicePayment:
    invoice_id: str
    amount: Decimal
    payment_date: datetime.date
    currency: str
    reference: str
    bank_account_id: str


@dataclass(frozen=True)
class NewVoucherRow:
    account_number: int
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    text: str = ""
    vat_code_id: str = ""


@dataclass(frozen=True)
class NewVoucher:
    date: datetime.date
    text: str  # starts with the payout reference: how a retry finds it
    rows: list[NewVoucherRow]


@dataclass(frozen=True)
class ErpVoucher:
    id: str
    number: str  # number and series, e.g. "A12"
    date: datetime.date
    text: str
    total_debit: Decimal


@dataclass(frozen=True)
class ErpWebhook:
    id: str
    endpoint: str
    description: str
    active: bool
    subscriptions: list[int] = field(default_factory=list)  # Visma's SubscriptionType numbers


# --- shop (Jetshop / Norce): catalogue imports, prices, stock, channels, capture --------------


@dataclass(frozen=True)
class NewShopProduct:
    part_no: str  # the article number / SKU: the natural key (no variant structure)
    name: str
    vat_rate: Decimal  # percent
    active: bool = True
    description: str = ""
    manufacturer_code: str = ""
    category_code: str = ""
    price: Decimal | None = None  # as the shop shows prices (Shopify's create sets one)
    product_type: str = ""  # Shopify: what the merchant's tax override goes by


@dataclass(frozen=True)
class ShopProduct:
    part_no: str
    product_id: str
    name: str
    vat_rate: Decimal | None
    active: bool
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ShopListedItem:
    """One sellable item of a shop's catalogue, for products going shop → ERP: a simple product,
    or one variant / variation with its own SKU (we keep no variant structure: each is an
    article). Shopify and WooCommerce list them; Jetshop has ShopProduct."""

    sku: str  # "" when the shop has none (then it cannot be matched)
    product_id: str
    variant_id: str  # == product_id for a simple product
    name: str
    active: bool
    price: Decimal | None  # the ordinary price as the shop shows it (see prices_include_tax)
    prices_include_tax: bool
    vat_rate: Decimal | None  # None: the shop does not say; never guess one
    vat_problem: str = ""  # why vat_rate is None, when the shop's set-up says why
    product_type: str = ""  # Shopify: what a VAT mapping set by support staff may go by
    tags: tuple[str, ...] = ()
    updated_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ShopImportJob:
    """An asynchronous import the shop accepted: poll until `finished`."""

    job_id: str
    status: str  # Queued, Initialized, Validating, Succeeded, Failed, ValidationFailed
    finished: bool
    succeeded: bool
    total_items: int = 0
    failed_items: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ShopPriceList:
    id: str
    code: str
    name: str
    currency: str
    is_campaign: bool  # a limited-time price list (Visma's "campaign price")
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None


@dataclass(frozen=True)
class NewShopPrice:
    part_no: str
    price_list_code: str
    price: Decimal  # excluding VAT, what the shopper pays in this price list
    catalog_price: Decimal | None = None  # the ordinary price shown as "was"; None: none


@dataclass(frozen=True)
class ShopPrice:
    part_no: str
    price_list_code: str
    price: Decimal  # excluding VAT
    catalog_price: Decimal | None


@dataclass(frozen=True)
class NewShopStock:
    part_no: str
    warehouse_code: str
    location_code: str
    on_hand: Decimal


@dataclass(frozen=True)
class ShopStock:
    part_no: str
    warehouse_code: str
    location_code: str
    on_hand: Decimal
    reserved: Decimal  # held by orders not yet delivered
    incoming: Decimal = Decimal("0")

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class ShopChannel:
    """A shop's sales channel (Norce: an application); orders carry its id as `channel`."""

    id: str
    name: str
    currency: str
    culture: str
    is_active: bool


@dataclass(frozen=True)
class ShopCapture:
    order_id: str
    invoice_no: str  # the natural key: the shop refuses a second invoice with it
    amount: Decimal  # including VAT
    already_captured: bool  # an earlier attempt got through; nothing was captured now


@dataclass(frozen=True)
class GatewayOrderLine:
    """One line of an order as the payment gateway holds it (Klarna Order Management)."""

    reference: str  # the merchant's article number / SKU ("" when none was sent)
    name: str
    kind: str  # the gateway's line type: physical, shipping_fee, discount, …
    quantity: Decimal
    unit_price: Decimal  # including VAT, before discount
    vat_rate: Decimal  # percent: Decimal("25"), Decimal("12"), Decimal("6")
    total_amount: Decimal  # including VAT, after discount: what the buyer paid for the line
    total_tax_amount: Decimal
    total_discount_amount: Decimal


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    amount: Decimal  # positive: what went back to the buyer
    lines: tuple[GatewayOrderLine, ...]  # () when the merchant did not say which lines


@dataclass(frozen=True)
class GatewayOrder:
    order_id: str  # the gateway's id (Klarna's order_id, a UUID)
    order_reference: str  # the merchant's order number (Klarna's merchant_reference1)
    currency: str
    amount: Decimal  # the order amount, including VAT
    lines: tuple[GatewayOrderLine, ...]
    refunds: tuple[GatewayRefund, ...] = ()
    organisation_number: str = ""  # a company buyer's registration number, as given
    company_name: str = ""
    country: str = ""  # ISO 3166-1 alpha-2 of the billing address
    provider: str = ""
    raw: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


# --- ERP (Visma eEkonomi): sales price lists (Pro), cost centres, notes -----------------------


@dataclass(frozen=True)
class ErpSalesPriceList:
    id: str
    number: int
    name: str
    currency: str
    is_standard: bool  # the list Visma makes when a company becomes Pro: the ordinary price
    is_active: bool
    note: str = ""
    changed_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ErpSalesPrice:
    """An article's price in one sales price list."""

    price_list_id: str
    article_id: str
    net_price: Decimal  # excluding VAT
    gross_price: Decimal | None
    currency: str
    changed_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ErpCostCentreItem:
    id: str
    cost_centre_id: str
    name: str
    short_name: str  # at most 9 characters: the code people use
    is_active: bool


@dataclass(frozen=True)
class ErpCostCentre:
    id: str
    number: int  # 1–3: which of a row's CostCenterItemId1/2/3 its items go in
    name: str
    is_active: bool
    items: tuple[ErpCostCentreItem, ...] = ()


@dataclass(frozen=True)
class ErpNote:
    """A note a person attached to a document in the ERP (e.g. the parcel number)."""

    id: str
    attached_to: str  # the document's id
    document_type: int  # Visma: 1 customer invoice, 6 order, …
    subject: str
    text: str
    created_at: datetime.datetime | None = None
    modified_at: datetime.datetime | None = None
