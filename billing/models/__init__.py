"""Billing's models, one module per part of the business; import them from here."""

from billing.models.contracts import (
    CENT,
    EXTRA_SHOP_FEE,
    Customer,
    Package,
    Subscription,
    SubscriptionChange,
    add_months,
    first_of_month,
    last_of_month,
    to_ore,
    validate_organisation_number,
    validate_vat_number,
)
from billing.models.fee_invoices import VAT_RATE, FeeInvoice, FeeInvoiceLine
from billing.models.service_hours import HourPurchase, TimeEntry, validate_quarter_hours
from billing.models.usage import QuotaMonth, QuotaWarning, TransferredOrder

__all__ = [
    "CENT",
    "EXTRA_SHOP_FEE",
    "VAT_RATE",
    "Customer",
    "FeeInvoice",
    "FeeInvoiceLine",
    "HourPurchase",
    "Package",
    "QuotaMonth",
    "QuotaWarning",
    "Subscription",
    "SubscriptionChange",
    "TimeEntry",
    "TransferredOrder",
    "add_months",
    "first_of_month",
    "last_of_month",
    "to_ore",
    "validate_organisation_number",
    "validate_quarter_hours",
    "validate_vat_number",
]
