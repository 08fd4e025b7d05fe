"""The engine's records: integrations, sync jobs and their items, links (id mappings), cursors."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Customer
from shops.models import Connection


class Integration(models.Model):
    """One customer's set-up: an ERP joined to shop(s), or a gateway integration."""

    class Flow(models.TextChoices):
        SHOP_MASTER = "flow1", _("Flow 1: the shop is master")
        ERP_MASTER = "flow2", _("Flow 2: the ERP is master")
        COMBO = "flow3", _("Flow 3: combo (shop masters articles, ERP price and stock)")
        GATEWAY_PLUS = "plus", _("Gateway Plus (payouts booked per order)")
        GATEWAY_BASIC = "basic", _("Gateway Basic/Pay (payouts matched to shop orders)")

    class OrderTarget(models.TextChoices):
        INVOICE = "invoice", _("Customer invoice")
        ORDER = "order", _("Order (needs Visma's order module)")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="integrations"
    )
    name = models.CharField(_("name"), max_length=100)
    flow = models.CharField(_("flow"), max_length=10, choices=Flow.choices)
    erp = models.ForeignKey(
        Connection,
        verbose_name=_("accounting system"),
        on_delete=models.PROTECT,
        related_name="erp_integrations",
        limit_choices_to={"kind": Connection.Kind.ERP},
    )
    shops = models.ManyToManyField(
        Connection,
        verbose_name=_("shops"),
        blank=True,
        related_name="shop_integrations",
        limit_choices_to={"kind": Connection.Kind.SHOP},
    )
    gateway = models.ForeignKey(
        Connection,
        verbose_name=_("payment gateway"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gateway_integrations",
        limit_choices_to={"kind": Connection.Kind.GATEWAY},
    )
    order_target = models.CharField(
        _("orders become"), max_length=10, choices=OrderTarget.choices, default=OrderTarget.INVOICE
    )
    trigger_statuses = models.JSONField(
        _("shop statuses that trigger the transfer"),
        default=list,
        blank=True,
        help_text=_(
            'Empty: every new order is transferred. A list, e.g. ["Confirmed"], for every shop; '
            'or per shop by connection id, "*" for the others, e.g. '
            '{"12": ["PAID"], "13": ["processing", "completed"], "*": []}.'
        ),
    )
    options = models.JSONField(
        _("options"),
        default=dict,
        blank=True,
        # integrator/options.py is the list the code reads; a test keeps the two in step.
        help_text=_(
            "A JSON object; an unknown name or a wrong value is refused. Orders: "
            "shipping_article, fee_article, routing. Order status: order_status, tracking. "
            "Products: article_unit, shopify_vat_rates, woocommerce_tax_classes. Prices: "
            "price_list, price_lists, campaign_price_list, price_list_mapping. Stock: "
            "stock_locations, stock_warehouses. Payouts: payouts_since. Every flow: plugins. "
            "Each is described in docs/INTEGRATION_OPTIONS.md, e.g. "
            '{"shipping_article": "FRAKT", "campaign_price_list": "Kampanj"}.'
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["customer__name", "name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return f"{self.customer} · {self.name}"

    @property
    def is_gateway(self) -> bool:
        return self.flow in (self.Flow.GATEWAY_PLUS, self.Flow.GATEWAY_BASIC)

    def trigger_statuses_for(self, shop: Connection) -> set[str]:
        """The statuses (case-folded) that make one of `shop`'s orders ready to transfer; empty:
        every order. Platforms name statuses differently (Jetshop "Confirmed", Shopify "PAID",
        WooCommerce "processing"), so a multishop can set them per shop."""
        configured = self.trigger_statuses or []
        if isinstance(configured, dict):
            configured = configured.get(str(shop.pk), configured.get("*", []))
        return {str(status).casefold() for status in configured}

    # The shops a form is about to save: many-to-many values are written after the model is
    # checked, so the admin form hands them over here for the checks that name shops.
    shops_being_saved: list[Connection] | None = None

    def shop_ids_on(self, platform: str | None = None) -> set[str] | None:
        """The connection ids of the integration's shops (on `platform`, if given), as JSON keys
        name them. None for a new integration checked outside a form: it has no shops yet."""
        if self.shops_being_saved is not None:
            return {
                str(shop.pk)
                for shop in self.shops_being_saved
                if platform is None or shop.platform == platform
            }
        if not self.pk:
            return None
        shops = self.shops.all() if platform is None else self.shops.filter(platform=platform)
        return {str(pk) for pk in shops.values_list("pk", flat=True)}

    def _trigger_statuses_errors(self) -> list[str]:
        configured = self.trigger_statuses
        if configured in (None, "", []):
            return []
        if isinstance(configured, list):
            lists = {"": configured}
        elif isinstance(configured, dict):
            lists = configured
        else:
            return [_("Give a list of statuses, or an object of lists per shop connection id.")]
        errors = []
        shop_ids = self.shop_ids_on()
        for key, statuses in lists.items():
            if key and key != "*" and not names_a_shop(key, shop_ids):
                errors.append(
                    _("%(key)s is not the id of one of this integration's shops (or *).")
                    % {"key": key}
                )
            if not isinstance(statuses, list) or not all(
                isinstance(s, str) and s.strip() for s in statuses
            ):
                errors.append(
                    _("The statuses for %(key)s must be a list of status names.")
                    % {"key": key or _("every shop")}
                )
        return errors

    def clean(self) -> None:
        errors = {}
        trigger_errors = self._trigger_statuses_errors()
        if trigger_errors:
            errors["trigger_statuses"] = trigger_errors
        if self.erp_id and self.customer_id and self.erp.customer_id != self.customer_id:
            errors["erp"] = _("The accounting system belongs to another customer.")
        if self.gateway_id and self.customer_id and self.gateway.customer_id != self.customer_id:
            errors["gateway"] = _("The payment gateway belongs to another customer.")
        if self.is_gateway and not self.gateway_id:
            errors["gateway"] = _("A gateway integration needs a payment gateway connection.")
        # Unknown keys (typos) and values the code reading them would refuse or ignore.
        from integrator.options import option_errors

        option_problems = option_errors(self)
        if option_problems:
            errors["options"] = option_problems
        if errors:
            raise ValidationError(errors)


def names_a_shop(key: str, shop_ids: set[str] | None) -> bool:
    """Whether a JSON key is one of `shop_ids` (Integration.shop_ids_on). None: a new integration
    checked outside a form, which has no shops yet, so any connection id will do."""
    return key.isdigit() if shop_ids is None else key in shop_ids


class SyncJob(models.Model):
    """One run of one entity for one integration: a record support staff can read and retry."""

    class Kind(models.TextChoices):
        ORDERS = "orders", _("Orders")
        ORDER_STATUS = "order_status", _("Order status")
        PRODUCTS = "products", _("Products")
        PRICES = "prices", _("Prices")
        PRICE_LISTS = "price_lists", _("Price lists")
        STOCK = "stock", _("Stock")
        INITIAL_PRODUCTS = "initial_products", _("Initial product sync")
        PAYOUTS = "payouts", _("Payouts")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly failed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)
    RETRYABLE = (Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        WEBHOOK = "webhook", _("Webhook")
        MANUAL = "manual", _("Started by a person")
        RETRY = "retry", _("Retry")
        COMMAND = "command", _("Command line")

    integration = models.ForeignKey(
        Integration, verbose_name=_("integration"), on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    transferred = models.PositiveIntegerField(_("transferred"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Touched at every progress update: a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The failing request and response, with every secret replaced (shops.redaction).
    error_detail = models.JSONField(_("request and response"), null=True, blank=True)
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    retry_of = models.ForeignKey(
        "self",
        verbose_name=_("retry of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
    )
    options = models.JSONField(_("options"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("sync job")
        verbose_name_plural = _("sync jobs")
        constraints = [
            # Never two of the same kind at once for one integration, however many workers.
            models.UniqueConstraint(
                fields=["integration", "kind"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_job_per_integration_and_kind",
            )
        ]
        indexes = [
            models.Index(fields=["integration", "kind", "-created_at"]),
            # The admin's job list, newest first, filtered by status or kind: read in index
            # order and stopped after one page, however many jobs there are. (Also serves every
            # lookup by status alone, e.g. the stalled-job sweep.)
            models.Index(fields=["status", "-created_at"], name="syncjob_status_created"),
            models.Index(fields=["kind", "-created_at"], name="syncjob_kind_created"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} · {self.integration}"

    @property
    def customer(self) -> Customer:
        return self.integration.customer

    @property
    def progress_percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.status in self.FINISHED else None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class SyncItem(models.Model):
    """The outcome of one object (an order, an article…) in one job."""

    class Outcome(models.TextChoices):
        TRANSFERRED = "transferred", _("Transferred")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(
        SyncJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="items"
    )
    object_type = models.CharField(_("object"), max_length=30)
    key = models.CharField(_("key"), max_length=100, help_text=_("e.g. the shop's order number"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    message = models.TextField(_("message"), blank=True)
    remote_id = models.CharField(_("remote id"), max_length=100, blank=True)
    detail = models.JSONField(_("request and response"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["job", "pk"]
        verbose_name = _("sync item")
        verbose_name_plural = _("sync items")
        indexes = [models.Index(fields=["job", "outcome"])]

    def __str__(self) -> str:
        return f"{self.object_type} {self.key}: {self.get_outcome_display()}"


class Link(models.Model):
    """The id of one object on both sides. A link is written (pending) before the remote write,
    and marked done after it: a retry that finds a pending link searches the remote side by the
    natural key before it creates anything, so a crash can delay but never duplicate."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending (write under way or outcome unknown)")
        DONE = "done", _("Done")

    integration = models.ForeignKey(
        Integration, verbose_name=_("integration"), on_delete=models.CASCADE, related_name="links"
    )
    entity = models.CharField(_("entity"), max_length=20)
    source_connection = models.ForeignKey(
        Connection, verbose_name=_("source"), on_delete=models.CASCADE, related_name="+"
    )
    source_id = models.CharField(_("source id"), max_length=100)
    target_connection = models.ForeignKey(
        Connection, verbose_name=_("target"), on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.CharField(_("target id"), max_length=100, blank=True)
    natural_key = models.CharField(
        _("natural key"), max_length=100, help_text=_("What the remote side can be searched by.")
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("link")
        verbose_name_plural = _("links")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "integration",
                    "entity",
                    "source_connection",
                    "source_id",
                    "target_connection",
                ],
                name="one_link_per_source_object_and_target",
            )
        ]
        indexes = [models.Index(fields=["integration", "entity", "state"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id} → {self.target_id or '?'}"

    def mark_done(self, target_id: str, *, fingerprint: str | None = None) -> None:
        """The remote write went through (or was found): record the remote id, and for catalogue
        items the fingerprint of what was sent, so an unchanged item is not sent again."""
        self.target_id = (target_id or self.target_id)[:100]
        self.state = self.State.DONE
        fields = ["target_id", "state", "updated_at"]
        if fingerprint is not None:
            self.fingerprint = fingerprint
            fields.append("fingerprint")
        self.save(update_fields=fields)


class Cursor(models.Model):
    """Where incremental polling of one connection's entity left off."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="cursors")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=20)
    value = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cursor")
        verbose_name_plural = _("cursors")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "connection", "entity"], name="one_cursor_per_entity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} @ {self.value or '-'}"


# --- The merchant's read-only status page (issue 7) ----------------------------------------------


STATUS_TOKEN_BYTES = 32
STATUS_TOKEN_PREFIX_LENGTH = 10
# What secrets.token_urlsafe(32) produces: 43 characters of the URL-safe base64 alphabet.
STATUS_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_UNUSED_HASH = "0" * 64


class StatusPageQuerySet(models.QuerySet["StatusPage"]):
    def find(self, token: str) -> StatusPage | None:
        """The page a secret link opens, or None. Only a hash of the token is stored: the short
        prefix finds the row, and the hash is compared in constant time."""
        if not STATUS_TOKEN_PATTERN.fullmatch(token or ""):
            return None
        page = (
            self.select_related("customer")
            .filter(token_prefix=token[:STATUS_TOKEN_PREFIX_LENGTH])
            .first()
        )
        expected = page.token_hash if page else _UNUSED_HASH
        matches = hmac.compare_digest(expected, StatusPage.hash_token(token))
        return page if page is not None and matches else None


class StatusPage(models.Model):
    """The secret link to a customer's status page. The token itself is never stored: it is
    shown once when issued, and rotating it makes the old link stop working at once."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="status_page"
    )
    token_prefix = models.CharField(
        max_length=STATUS_TOKEN_PREFIX_LENGTH, unique=True, editable=False
    )
    token_hash = models.CharField(max_length=64, editable=False)
    # The token again, encrypted like connection credentials, so operators can print the link
    # again (`status_url`); finding a page never reads it, only the hash above.
    token_encrypted = models.TextField(editable=False, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    rotated_at = models.DateTimeField(_("link issued"), default=timezone.now)
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = StatusPageQuerySet.as_manager()

    class Meta:
        ordering = ["customer__name"]
        verbose_name = _("status page link")
        verbose_name_plural = _("status page links")

    def __str__(self) -> str:
        return str(self.customer)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def token(self) -> str:
        """The current link's token ("" for a link issued before tokens were kept encrypted)."""
        from shops import crypto

        return crypto.decrypt(self.token_encrypted).get("token", "") if self.token_encrypted else ""

    @classmethod
    def issue(cls, customer: Customer, *, by: Any = None) -> tuple[StatusPage, str]:
        """A new secret link for the customer, replacing the old one at once; returns the
        token."""
        from shops import crypto

        while True:
            token = secrets.token_urlsafe(STATUS_TOKEN_BYTES)
            prefix = token[:STATUS_TOKEN_PREFIX_LENGTH]
            if not cls.objects.filter(token_prefix=prefix).exists():
                break
        page, _created = cls.objects.update_or_create(
            customer=customer,
            defaults={
                "token_prefix": prefix,
                "token_hash": cls.hash_token(token),
                "token_encrypted": crypto.encrypt({"token": token}),
                "rotated_at": timezone.now(),
                "rotated_by": by if by is not None and by.is_authenticated else None,
            },
        )
        return page, token


class MerchantAccess(models.Model):
    """A merchant's login: one (non-staff) user sees the status page of exactly one customer."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="merchant_access",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="merchant_users",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["customer__name"]
        verbose_name = _("merchant login")
        verbose_name_plural = _("merchant logins")

    def __str__(self) -> str:
        return f"{self.user} → {self.customer}"

    def clean(self) -> None:
        # A merchant must never reach the admin; a staff account seeing one customer's page as
        # "theirs" would blur who may see what.
        if self.user_id and (self.user.is_staff or self.user.is_superuser):
            raise ValidationError(
                {"user": _("A merchant login cannot be a staff user or superuser.")}
            )


class Notice(models.Model):
    """An e-mail we sent (or meant to send) on our own initiative. The unique (kind, key) row is
    what makes each notice go out at most once, however many workers try at the same time."""

    class Kind(models.TextChoices):
        ERROR_DIGEST = "error_digest", _("Daily error digest to support")
        NEEDS_MERCHANT = "needs_merchant", _("Connection needs the merchant")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=100)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    connection = models.ForeignKey(
        Connection,
        verbose_name=_("connection"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    recipients = models.CharField(
        _("e-mailed to"),
        max_length=500,
        blank=True,
        help_text=_("Empty when there was nobody to mail or the mail server failed."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_notice_per_kind_and_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.key}"


# --- Webhooks received from shops (issue 4) ------------------------------------------------------


class WebhookEvent(models.Model):
    """A webhook a shop delivered to us. Shops redeliver until they see a 2xx (and sometimes
    after): the unique (connection, webhook id) row is what makes a redelivery queue nothing
    twice. The body is not kept: it holds the shopper's data, and the job reads the order from
    the shop anyway."""

    connection = models.ForeignKey(
        Connection, verbose_name=_("connection"), on_delete=models.CASCADE, related_name="+"
    )
    webhook_id = models.CharField(_("webhook id"), max_length=100)
    topic = models.CharField(_("topic"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    jobs = models.JSONField(_("jobs queued"), default=list, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "webhook_id"], name="one_event_per_webhook_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic or '?'} {self.webhook_id}"
