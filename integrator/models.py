"""The engine's records: integrations, sync jobs and their items, links (id mappings), cursors."""

from __future__ import annotations

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
        help_text=_("Empty: every new order is transferred."),
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
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

    def clean(self) -> None:
        errors = {}
        if self.erp_id and self.customer_id and self.erp.customer_id != self.customer_id:
            errors["erp"] = _("The accounting system belongs to another customer.")
        if self.gateway_id and self.customer_id and self.gateway.customer_id != self.customer_id:
            errors["gateway"] = _("The payment gateway belongs to another customer.")
        if self.is_gateway and not self.gateway_id:
            errors["gateway"] = _("A gateway integration needs a payment gateway connection.")
        if errors:
            raise ValidationError(errors)


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
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("total"), null=True, blank=True)
    transferred = models.PositiveIntegerField(_("transferred"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
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
        indexes = [models.Index(fields=["integration", "kind", "-created_at"])]

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
                fields=["integration", "entity", "source_connection", "source_id", "target_connection"],
                name="one_link_per_source_object_and_target",
            )
        ]
        indexes = [models.Index(fields=["integration", "entity", "state"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.source_id} → {self.target_id or '?'}"


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
