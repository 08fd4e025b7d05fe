"""Which client speaks to which platform. Adding a system is one module and one line here."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from shops.models import Connection

# Import paths rather than classes, so using one client never imports every vendor module.
CLIENTS: dict[str, str] = {
    Connection.Platform.VISMA: "shops.clients.visma.VismaClient",
    Connection.Platform.JETSHOP: "shops.clients.jetshop.JetshopClient",
    Connection.Platform.KLARNA: "shops.clients.klarna.KlarnaClient",
    Connection.Platform.STRIPE: "shops.clients.stripe.StripeClient",
    Connection.Platform.PAYPAL: "shops.clients.paypal.PaypalClient",
    Connection.Platform.NETS: "shops.clients.nets.NetsClient",
    Connection.Platform.SVEA: "shops.clients.svea.SveaClient",
    Connection.Platform.WOOCOMMERCE: "shops.clients.woocommerce.WooCommerceClient",
    Connection.Platform.SHOPIFY: "shops.clients.shopify.ShopifyClient",
    Connection.Platform.SHOPIFY_PAYMENTS: "shops.clients.shopify_payments.ShopifyPaymentsClient",
}


def client_for(connection: Connection, **options: Any) -> Any:
    """A ready client for `connection` (options, e.g. timeout, go to its constructor)."""
    try:
        path = CLIENTS[connection.platform]
    except KeyError:
        raise LookupError(
            f"No API client for platform {connection.get_platform_display()!r} yet."
        ) from None
    return import_string(path)(connection, **options)


def supports(platform: str) -> bool:
    return platform in CLIENTS
