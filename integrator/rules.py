"""Which entity moves in which direction for each flow (DESIGN.md section 3), and what the
customer's package allows. The engine refuses a job these rules forbid, and the admin says why."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Package
from integrator.models import Integration, SyncJob

SHOP_TO_ERP = "shop_to_erp"
ERP_TO_SHOP = "erp_to_shop"
GATEWAY_TO_ERP = "gateway_to_erp"
EITHER = "either"  # the initial product sync: the direction is chosen per run

Kind = SyncJob.Kind
Flow = Integration.Flow

DIRECTIONS: dict[str, dict[str, str]] = {
    Flow.SHOP_MASTER: {
        Kind.ORDERS: SHOP_TO_ERP,
        Kind.PRODUCTS: SHOP_TO_ERP,
        Kind.INITIAL_PRODUCTS: EITHER,
    },
    Flow.ERP_MASTER: {
        Kind.ORDERS: SHOP_TO_ERP,
        Kind.ORDER_STATUS: ERP_TO_SHOP,
        Kind.PRODUCTS: ERP_TO_SHOP,
        Kind.PRICES: ERP_TO_SHOP,
        Kind.PRICE_LISTS: ERP_TO_SHOP,
        Kind.STOCK: ERP_TO_SHOP,
        Kind.INITIAL_PRODUCTS: EITHER,
    },
    Flow.COMBO: {
        Kind.ORDERS: SHOP_TO_ERP,
        Kind.ORDER_STATUS: ERP_TO_SHOP,
        Kind.PRODUCTS: SHOP_TO_ERP,
        Kind.PRICES: ERP_TO_SHOP,
        Kind.PRICE_LISTS: ERP_TO_SHOP,
        Kind.STOCK: ERP_TO_SHOP,
        Kind.INITIAL_PRODUCTS: EITHER,
    },
    Flow.GATEWAY_PLUS: {Kind.PAYOUTS: GATEWAY_TO_ERP},
    Flow.GATEWAY_BASIC: {Kind.PAYOUTS: GATEWAY_TO_ERP},
}

DIRECTION_LABELS = {
    SHOP_TO_ERP: gettext_lazy("shop → accounting system"),
    ERP_TO_SHOP: gettext_lazy("accounting system → shop"),
    GATEWAY_TO_ERP: gettext_lazy("payment gateway → accounting system"),
    EITHER: gettext_lazy("either way, chosen per run"),
}

# The package feature each kind of job needs (DESIGN.md section 3, the package table).
FEATURE_FOR_KIND = {
    Kind.ORDER_STATUS: "order_status",
    Kind.STOCK: "stock",
    Kind.PRICE_LISTS: "price_lists",
}


def direction(integration: Integration, kind: str) -> str | None:
    return DIRECTIONS.get(integration.flow, {}).get(kind)


def _smallest_package_with(feature: str) -> Package | None:
    return Package.objects.filter(**{feature: True}).order_by("rank").first()


def why_not(integration: Integration, kind: str) -> str | None:
    """None when the job may run; otherwise the reason, in words support staff can pass on."""
    if direction(integration, kind) is None:
        return _("%(flow)s does not move %(kind)s.") % {
            "flow": integration.get_flow_display(),
            "kind": SyncJob.Kind(kind).label.lower(),
        }
    subscription = integration.customer.current_subscription()
    if subscription is None:
        return _("%(customer)s has no active subscription.") % {"customer": integration.customer}
    package = subscription.package
    needs = [FEATURE_FOR_KIND[kind]] if kind in FEATURE_FOR_KIND else []
    if integration.flow == Flow.COMBO or integration.shops.count() > 1:
        needs.append("multishop")
    if integration.options.get("plugins"):
        needs.append("plugins")
    for feature in needs:
        if not package.allows(feature):
            smallest = _smallest_package_with(feature)
            return _("%(package)s does not include %(feature)s (it comes with %(smallest)s).") % {
                "package": package,
                "feature": Package._meta.get_field(feature).verbose_name,
                "smallest": smallest or _("a larger package"),
            }
    return None


def flow_table(integration: Integration) -> list[tuple[str, str, str | None]]:
    """(what, which direction, why it does not run or None) for every kind the flow moves."""
    return [
        (SyncJob.Kind(kind).label, str(DIRECTION_LABELS[way]), why_not(integration, kind))
        for kind, way in DIRECTIONS.get(integration.flow, {}).items()
    ]
