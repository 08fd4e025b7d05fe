"""Connections to the external systems a customer uses: shops, the ERP, payment gateways."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Customer
from shops import crypto


class Connection(models.Model):
    class Kind(models.TextChoices):
        SHOP = "shop", _("Webshop")
        ERP = "erp", _("Accounting system")
        GATEWAY = "gateway", _("Payment gateway")

    class Platform(models.TextChoices):
        JETSHOP = "jetshop", "Jetshop / Norce"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        VISMA = "visma", "Visma eEkonomi"
        KLARNA = "klarna", "Klarna"
        STRIPE = "stripe", "Stripe"
        PAYPAL = "paypal", "PayPal"
        NETS = "nets", "Nets Easy"
        SVEA = "svea", "Svea"
        SHOPIFY_PAYMENTS = "shopify_payments", "Shopify Payments"

    PLATFORM_KINDS = {
        Platform.JETSHOP: Kind.SHOP,
        Platform.SHOPIFY: Kind.SHOP,
        Platform.WOOCOMMERCE: Kind.SHOP,
        Platform.VISMA: Kind.ERP,
        Platform.KLARNA: Kind.GATEWAY,
        Platform.STRIPE: Kind.GATEWAY,
        Platform.PAYPAL: Kind.GATEWAY,
        Platform.NETS: Kind.GATEWAY,
        Platform.SVEA: Kind.GATEWAY,
        Platform.SHOPIFY_PAYMENTS: Kind.GATEWAY,
    }

    class Health(models.TextChoices):
        UNKNOWN = "unknown", _("Not checked yet")
        OK = "ok", _("Working")
        WARNING = "warning", _("Needs attention")
        ERROR = "error", _("Not working")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="connections"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, editable=False)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    base_url = models.URLField(_("base URL"), max_length=300)
    # A Fernet token; never shown in the admin, never logged. Use .credentials to read and write.
    credentials_encrypted = models.TextField(editable=False, blank=True, default="")
    enabled = models.BooleanField(_("enabled"), default=True)
    health = models.CharField(
        _("health"), max_length=10, choices=Health.choices, default=Health.UNKNOWN, editable=False
    )
    health_message = models.CharField(
        _("health message"), max_length=500, blank=True, editable=False
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True, editable=False)
    last_error_at = models.DateTimeField(_("last error"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["customer__name", "name"]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")

    def __str__(self) -> str:
        return f"{self.customer} · {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = self.PLATFORM_KINDS[self.platform]
        super().save(*args, **kwargs)

    @property
    def credentials(self) -> dict[str, Any]:
        return crypto.decrypt(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = crypto.encrypt(value) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)

    def update_credentials(self, **changes: Any) -> None:
        """Merge `changes` into the stored credentials (e.g. a rotated refresh token) and save."""
        self.credentials = {**self.credentials, **changes}
        self.save(update_fields=["credentials_encrypted"])

    def record_success(self) -> None:
        Connection.objects.filter(pk=self.pk).update(
            health=self.Health.OK, health_message="", last_success_at=timezone.now()
        )

    def record_error(self, message: str, *, needs_merchant: bool = False) -> None:
        Connection.objects.filter(pk=self.pk).update(
            health=self.Health.WARNING if needs_merchant else self.Health.ERROR,
            health_message=message[:500],
            last_error_at=timezone.now(),
        )


class RateLimitBucket(models.Model):
    """The recent request counts of one rate-limited key (system, API client, endpoint), per
    customer, for the database backend of shops.clients.ratelimit (used when there is no Redis).
    Kept small: only the slices of the current window are stored."""

    key = models.CharField(max_length=255, unique=True)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rate-limit bucket")
        verbose_name_plural = _("rate-limit buckets")

    def __str__(self) -> str:
        return self.key
