"""Every system the sandbox serves. Adding one is a module under shops/sandbox/ and a line here.

Each entry is the import path of a class following `shops.sandbox.state.System`. A system that
has demo tenants also offers `demo_connection(tenant, root) -> (base_url, credentials)` as a
static or class method, which `seed_demo` and the tests use to point a Connection at it."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

SYSTEMS: dict[str, str] = {
    "visma": "shops.sandbox.visma.VismaSandbox",
    "jetshop": "shops.sandbox.jetshop.JetshopSandbox",
    "klarna": "shops.sandbox.klarna.KlarnaSandbox",
    "stripe": "shops.sandbox.stripe.StripeSandbox",
    "paypal": "shops.sandbox.paypal.PaypalSandbox",
    "nets": "shops.sandbox.nets.NetsSandbox",
    "svea": "shops.sandbox.svea.SveaSandbox",
    "shopify": "shops.sandbox.shopify.ShopifySandbox",
    "shopify_payments": "shops.sandbox.shopify_payments.ShopifyPaymentsSandbox",
    "woocommerce": "shops.sandbox.woocommerce.WooCommerceSandbox",
}


def all_systems() -> list[Any]:
    return [import_string(path)() for path in SYSTEMS.values()]


def system_class(name: str) -> Any:
    try:
        return import_string(SYSTEMS[name])
    except KeyError:
        raise LookupError(f"The sandbox has no system {name!r}") from None
