"""Admin for the engine. The sync-job pages are where support staff spend their day: read why a
job failed, retry it, cancel it. Every change goes through integrator.services."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Prefetch, QuerySet, Value, When
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from billing.admin import (
    EMPTY,
    LimitedInlineFormSet,
    ReadOnlyAdminMixin,
    customer_filter,
    local_time,
    pretty_json,
)
from integrator import rules
from integrator.admin_paginator import EstimatedCountPaginator
from integrator.models import Cursor, Integration, Link, SyncItem, SyncJob
from integrator.services import (
    JobNotAllowed,
    job_cancel,
    job_enqueue,
    job_retry,
    job_retry_items,
)
from shops.models import Connection

# --- Integrations ------------------------------------------------------------------------------


class IntegrationForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        # Integration.clean checks the ERP and gateway, but a model cannot see its many-to-many
        # values before they are saved; a shop of another customer would leak their orders.
        cleaned = super().clean()
        customer, shops = cleaned.get("customer"), cleaned.get("shops")
        if customer and shops and any(shop.customer_id != customer.pk for shop in shops):
            self.add_error("shops", _("A shop belongs to another customer."))
        # Options and trigger statuses keyed by shop are checked against the shops chosen in
        # this form, so a shop and its settings can be added in one save.
        self.instance.shops_being_saved = list(shops) if shops is not None else None
        return cleaned


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin[Integration]):
    form = IntegrationForm
    list_display = ["customer", "name", "flow", "erp", "shop_names", "enabled"]
    list_display_links = ["customer", "name"]
    list_select_related = ["customer", "erp__customer"]
    list_filter = ["flow", "enabled", "order_target", "erp__platform"]
    search_fields = ["name", "customer__name", "customer__organisation_number"]
    autocomplete_fields = ["customer", "erp", "gateway"]
    filter_horizontal = ["shops"]
    readonly_fields = ["flow_table", "created_at"]
    actions = ["transfer_orders_now", "initial_sync_dry_run", "initial_sync_real_run"]
    fieldsets = [
        (None, {"fields": ["customer", "name", "enabled"]}),
        (_("Flow"), {"fields": ["flow", "flow_table", "order_target", "trigger_statuses"]}),
        (_("Connections"), {"fields": ["erp", "shops", "gateway"]}),
        (None, {"fields": ["options", "created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Integration]:
        # Only the names are shown in the list: one extra query for all rows.
        shops = Prefetch("shops", queryset=Connection.objects.only("pk", "name"))
        return super().get_queryset(request).prefetch_related(shops)

    @admin.display(description=_("shops"))
    def shop_names(self, obj: Integration) -> str:
        return ", ".join(shop.name for shop in obj.shops.all())

    @admin.display(description=_("what moves where"))
    def flow_table(self, obj: Integration) -> SafeString | str:
        if not obj.pk:
            return EMPTY
        rows = [
            (what, way, reason or "✓", "color: #c62828" if reason else "color: #2e7d32")
            for what, way, reason in rules.flow_table(obj)
        ]
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("Information"),
            _("Direction"),
            _("Runs with this package?"),
            format_html_join("", '<tr><td>{0}</td><td>{1}</td><td style="{3}">{2}</td></tr>', rows),
        )

    @admin.action(description=_("Transfer orders now"))
    def transfer_orders_now(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset.select_related("customer"):
            if integration.is_gateway or not integration.enabled:
                self.message_user(
                    request,
                    gettext("%(integration)s: skipped (disabled, or a gateway integration).")
                    % {"integration": integration},
                    messages.WARNING,
                )
                continue
            try:
                job, created = job_enqueue(
                    integration=integration, kind="orders", trigger="manual", user=request.user
                )
            except JobNotAllowed as exc:
                self.message_user(request, f"{integration}: {exc}", messages.WARNING)
                continue
            text = (
                gettext("%(integration)s: job #%(job)d queued.")
                if created
                else gettext("%(integration)s: job #%(job)d was already queued or running.")
            )
            self.message_user(request, text % {"integration": integration, "job": job.pk})

    @admin.action(description=_("Initial product sync: dry run (lists, changes nothing)"))
    def initial_sync_dry_run(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        self._initial_sync(request, queryset, dry_run=True)

    @admin.action(description=_("Initial product sync: real run"))
    def initial_sync_real_run(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        self._initial_sync(request, queryset, dry_run=False)

    def _initial_sync(
        self, request: HttpRequest, queryset: QuerySet[Integration], *, dry_run: bool
    ) -> None:
        # The way products go in the flow; the command line can choose the other way.
        for integration in queryset.select_related("customer"):
            direction = rules.direction(integration, SyncJob.Kind.PRODUCTS) or rules.SHOP_TO_ERP
            try:
                job, created = job_enqueue(
                    integration=integration,
                    kind=SyncJob.Kind.INITIAL_PRODUCTS,
                    trigger=SyncJob.Trigger.MANUAL,
                    user=request.user,
                    options={"direction": direction, "dry_run": dry_run},
                )
            except JobNotAllowed as exc:
                self.message_user(request, f"{integration}: {exc}", messages.WARNING)
                continue
            text = (
                gettext("%(integration)s: job #%(job)d queued (%(direction)s).")
                if created
                else gettext("%(integration)s: job #%(job)d was already queued or running.")
            )
            self.message_user(
                request,
                text
                % {
                    "integration": integration,
                    "job": job.pk,
                    "direction": rules.DIRECTION_LABELS[direction],
                },
            )


# --- Sync jobs ---------------------------------------------------------------------------------

STATUS_COLOURS = {
    SyncJob.Status.QUEUED: "#666666",
    SyncJob.Status.RUNNING: "#1565c0",
    SyncJob.Status.SUCCEEDED: "#2e7d32",
    SyncJob.Status.PARTIAL: "#ef8f00",
    SyncJob.Status.FAILED: "#c62828",
    SyncJob.Status.CANCELLED: "#6d4c41",
}
OUTCOME_COLOURS = {
    SyncItem.Outcome.TRANSFERRED: "#2e7d32",
    SyncItem.Outcome.SKIPPED: "#666666",
    SyncItem.Outcome.FAILED: "#c62828",
}


def _badge(colour: str, text: Any) -> SafeString:
    return format_html('<span style="color: {}; font-weight: bold">{}</span>', colour, text)


def _duration(value: datetime.timedelta | None) -> str:
    if value is None:
        return EMPTY
    seconds = int(value.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _job_link(job: SyncJob) -> SafeString:
    url = reverse("admin:integrator_syncjob_change", args=[job.pk])
    return format_html(
        '<a href="{}">#{}</a> {}',
        url,
        job.pk,
        _badge(STATUS_COLOURS.get(job.status, "#666666"), job.get_status_display()),
    )


class SyncItemInline(ReadOnlyAdminMixin, admin.TabularInline[SyncItem, SyncJob]):
    model = SyncItem
    formset = LimitedInlineFormSet
    verbose_name_plural = _("items (failed first; the first 200)")
    fields = ["object_type", "key", "outcome_badge", "message", "remote_id", "detail_pretty"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncItem]:
        failed_first = Case(
            When(outcome=SyncItem.Outcome.FAILED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return super().get_queryset(request).order_by(failed_first, "pk")

    @admin.display(description=_("outcome"))
    def outcome_badge(self, obj: SyncItem) -> SafeString:
        return _badge(OUTCOME_COLOURS.get(obj.outcome, "#666666"), obj.get_outcome_display())

    @admin.display(description=_("request and response"))
    def detail_pretty(self, obj: SyncItem) -> SafeString | str:
        if not obj.detail:
            return EMPTY
        return format_html(
            "<details><summary>{}</summary>{}</details>", _("show"), pretty_json(obj.detail)
        )


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[SyncJob]):
    # A job is a record: only the engine writes it (ReadOnlyAdminMixin), so Django shows every
    # field of the page read-only. Support acts through the actions and buttons below.
    list_display = [
        "number",
        "customer",
        "integration_name",
        "kind",
        "status_badge",
        "progress",
        "transferred",
        "skipped",
        "failed",
        "attempts",
        "created",
        "duration_text",
        "trigger_by",
    ]
    list_filter = [
        "status",
        "kind",
        customer_filter("integration__customer"),
        "trigger",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["integration__name", "integration__customer__name", "error"]
    # The job table grows without end; counting all of it on every page view is what is slow.
    # The paginator counts at most 10,000 rows (then estimates), and the date filter costs no
    # query, where a date hierarchy reads the dates of every matching job to draw its links.
    # The indexes behind the filters and the ordering are on SyncJob.Meta. Measured with a
    # million jobs by bench/admin_changelist.py.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["retry_selected", "cancel_selected"]
    inlines = [SyncItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        # Prefetched, not list_select_related: joined to integrations and customers, SQLite
        # starts from the customers and sorts every job before it can return the first page
        # (seconds at a million jobs); alone, the page is read straight off the created_at
        # index, and the integrations, customers and users are three small queries.
        return super().get_queryset(request).prefetch_related("integration__customer", "started_by")

    def get_fieldsets(self, request: HttpRequest, obj: SyncJob | None = None) -> Any:
        summary = ["number", "integration_link", "customer", "kind", "status_badge"]
        if self.has_retry_permission(request):
            summary.append("job_buttons")
        return [
            (None, {"fields": summary}),
            (
                _("Progress"),
                {"fields": ["progress", "transferred", "skipped", "failed", "attempts"]},
            ),
            (_("What went wrong"), {"fields": ["error_block", "error_detail_block"]}),
            (
                _("When and by whom"),
                {"fields": ["trigger_by", "created", "started", "finished", "duration_text"]},
            ),
            (
                _("Retries and items"),
                {"fields": ["retry_of_link", "retries_list", "items_summary"]},
            ),
        ]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrator.change_syncjob")

    def get_urls(self) -> list[URLPattern]:
        # Before the defaults: "<path:object_id>/" would otherwise swallow "12/retry/".
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(require_POST(self.retry_view)),
                name="integrator_syncjob_retry",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(require_POST(self.cancel_view)),
                name="integrator_syncjob_cancel",
            ),
            *super().get_urls(),
        ]

    # --- the list columns -------------------------------------------------------------------

    @admin.display(description=_("job"), ordering="pk")
    def number(self, obj: SyncJob) -> str:
        return f"#{obj.pk}"

    @admin.display(description=_("customer"), ordering="integration__customer__name")
    def customer(self, obj: SyncJob) -> str:
        return obj.integration.customer.name

    @admin.display(description=_("integration"), ordering="integration__name")
    def integration_name(self, obj: SyncJob) -> str:
        return obj.integration.name

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: SyncJob) -> SafeString:
        return _badge(STATUS_COLOURS.get(obj.status, "#666666"), obj.get_status_display())

    @admin.display(description=_("progress"))
    def progress(self, obj: SyncJob) -> SafeString | str:
        percent = obj.progress_percent
        if percent is None:
            return str(obj.progress_done) if obj.progress_done else EMPTY
        total = obj.progress_total if obj.progress_total is not None else obj.progress_done
        return format_html(
            '<span style="display: inline-block; width: 60px; height: 8px; background: #ddd; '
            'vertical-align: middle"><span style="display: block; width: {}%; height: 8px; '
            'background: {}"></span></span> {} / {} ({} %)',
            percent,
            STATUS_COLOURS.get(obj.status, "#666666"),
            obj.progress_done,
            total,
            percent,
        )

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, obj: SyncJob) -> str:
        return local_time(obj.created_at, seconds=True)

    @admin.display(description=_("duration"))
    def duration_text(self, obj: SyncJob) -> str:
        if obj.duration is None and obj.status == SyncJob.Status.RUNNING and obj.started_at:
            return f"{_duration(timezone.now() - obj.started_at)} …"
        return _duration(obj.duration)

    @admin.display(description=_("trigger / started by"), ordering="trigger")
    def trigger_by(self, obj: SyncJob) -> str:
        if obj.started_by:
            return f"{obj.get_trigger_display()} · {obj.started_by.get_username()}"
        return obj.get_trigger_display()

    # --- the change page --------------------------------------------------------------------

    @admin.display(description=_("integration"))
    def integration_link(self, obj: SyncJob) -> SafeString:
        url = reverse("admin:integrator_integration_change", args=[obj.integration_id])
        return format_html('<a href="{}">{}</a>', url, obj.integration.name)

    @admin.display(description=_("started"))
    def started(self, obj: SyncJob) -> str:
        return local_time(obj.started_at, seconds=True)

    @admin.display(description=_("finished"))
    def finished(self, obj: SyncJob) -> str:
        return local_time(obj.finished_at, seconds=True)

    @admin.display(description=_("actions"))
    def job_buttons(self, obj: SyncJob) -> SafeString | str:
        # formaction: the read-only change page is still a <form> with a CSRF token, so a button
        # can post it to our own view without a template of its own.
        buttons = []
        if obj.status in SyncJob.RETRYABLE:
            url = reverse("admin:integrator_syncjob_retry", args=[obj.pk])
            buttons.append((url, gettext("Retry this job")))
        if obj.status in SyncJob.ACTIVE:
            url = reverse("admin:integrator_syncjob_cancel", args=[obj.pk])
            buttons.append((url, gettext("Cancel this job")))
        if not buttons:
            return EMPTY
        return format_html_join(
            " ", '<button type="submit" class="button" formaction="{}">{}</button>', buttons
        )

    @admin.display(description=_("error"))
    def error_block(self, obj: SyncJob) -> SafeString | str:
        if not obj.error:
            return EMPTY
        return format_html(
            '<pre style="white-space: pre-wrap; margin: 0; font-size: 1.1em">{}</pre>', obj.error
        )

    @admin.display(description=_("request and response (secrets removed)"))
    def error_detail_block(self, obj: SyncJob) -> SafeString | str:
        return pretty_json(obj.error_detail)

    @admin.display(description=_("retry of"))
    def retry_of_link(self, obj: SyncJob) -> SafeString | str:
        return _job_link(obj.retry_of) if obj.retry_of_id else EMPTY

    @admin.display(description=_("retries"))
    def retries_list(self, obj: SyncJob) -> SafeString | str:
        retries = list(obj.retries.order_by("created_at"))
        if not retries:
            return EMPTY
        return format_html_join(mark_safe("<br>"), "{}", ((_job_link(r),) for r in retries))

    @admin.display(description=_("items"))
    def items_summary(self, obj: SyncJob) -> SafeString:
        counts = dict(obj.items.values_list("outcome").annotate(n=Count("pk")))
        total = sum(counts.values())
        per_outcome = format_html_join(
            " · ", "{}: {}", ((o.label, counts.get(o.value, 0)) for o in SyncItem.Outcome)
        )
        url = f"{reverse('admin:integrator_syncitem_changelist')}?job__id__exact={obj.pk}"
        return format_html(
            '{} ({})<br>{} <a href="{}">{}</a> · <a href="{}&amp;outcome__exact=failed">{}</a>',
            ngettext("%(n)d item", "%(n)d items", total) % {"n": total},
            per_outcome,
            gettext("Below: the first %(n)d, failed first.") % {"n": LimitedInlineFormSet.limit},
            url,
            gettext("All items of this job"),
            url,
            gettext("Only the failed ones"),
        )

    # --- what support can do ----------------------------------------------------------------

    def _retry(self, request: HttpRequest, job: SyncJob) -> SyncJob | None:
        try:
            retry = job_retry(job=job, user=request.user)
        except JobNotAllowed as exc:
            self.message_user(request, f"#{job.pk}: {exc}", messages.WARNING)
            return None
        if retry is None:
            return None
        if retry.retry_of_id == job.pk:
            msg = gettext("Job #%(job)d retried as job #%(retry)d.")
        else:
            # job_enqueue hands back the job of that kind already queued or running.
            msg = gettext("Job #%(job)d: job #%(retry)d of the same kind is already waiting.")
        self.message_user(request, msg % {"job": job.pk, "retry": retry.pk})
        return retry

    @admin.action(description=_("Retry selected"), permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        skipped = []
        for job in queryset.select_related("integration").order_by("pk"):
            if self._retry(request, job) is None:
                skipped.append(f"#{job.pk}")
        if skipped:
            self.message_user(
                request,
                gettext(
                    "Skipped %(jobs)s: only failed, partly failed or cancelled jobs can be retried."
                )
                % {"jobs": ", ".join(skipped)},
                messages.WARNING,
            )

    @admin.action(description=_("Cancel selected"), permissions=["retry"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        cancelled, skipped = [], []
        for job in queryset.order_by("pk"):
            (cancelled if job_cancel(job=job, user=request.user) else skipped).append(f"#{job.pk}")
        if cancelled:
            self.message_user(
                request, gettext("Cancelled %(jobs)s.") % {"jobs": ", ".join(cancelled)}
            )
        if skipped:
            self.message_user(
                request,
                gettext("Skipped %(jobs)s: only queued or running jobs can be cancelled.")
                % {"jobs": ", ".join(skipped)},
                messages.WARNING,
            )

    def _job_for_button(self, request: HttpRequest, object_id: str) -> SyncJob:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        return get_object_or_404(SyncJob.objects.select_related("integration"), pk=object_id)

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        job = self._job_for_button(request, object_id)
        retry = self._retry(request, job)
        if retry is None:
            self.message_user(
                request,
                gettext("Only failed, partly failed or cancelled jobs can be retried."),
                messages.WARNING,
            )
        target = retry or job
        return HttpResponseRedirect(reverse("admin:integrator_syncjob_change", args=[target.pk]))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        job = self._job_for_button(request, object_id)
        self.cancel_selected(request, SyncJob.objects.filter(pk=job.pk))
        return HttpResponseRedirect(reverse("admin:integrator_syncjob_change", args=[job.pk]))


# --- Items, links, cursors: read-only records of the engine ------------------------------------


@admin.register(SyncItem)
class SyncItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[SyncItem]):
    list_display = [
        "job_number",
        "object_type",
        "key",
        "outcome_badge",
        "short_message",
        "remote_id",
        "time",
    ]
    list_filter = ["outcome", "object_type"]
    search_fields = ["key", "message", "remote_id"]
    show_full_result_count = False
    actions = ["retry_items"]
    fields = [
        "job",
        "object_type",
        "key",
        "outcome",
        "message",
        "remote_id",
        "detail_pretty",
        "time",
    ]

    @admin.display(description=_("job"), ordering="job_id")
    def job_number(self, obj: SyncItem) -> SafeString:
        url = reverse("admin:integrator_syncjob_change", args=[obj.job_id])
        return format_html('<a href="{}">#{}</a>', url, obj.job_id)

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_badge(self, obj: SyncItem) -> SafeString:
        return _badge(OUTCOME_COLOURS.get(obj.outcome, "#666666"), obj.get_outcome_display())

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("integrator.change_syncjob")

    @admin.action(description=_("Retry the selected failed items"), permissions=["retry"])
    def retry_items(self, request: HttpRequest, queryset: QuerySet[SyncItem]) -> None:
        """One retry job per job the items came from, with only those items' keys
        (services.job_retry_items); items that did not fail are left alone."""
        keys_by_job: dict[int, list[str]] = {}
        for job_id, key in queryset.filter(outcome=SyncItem.Outcome.FAILED).values_list(
            "job_id", "key"
        ):
            keys_by_job.setdefault(job_id, []).append(key)
        if not keys_by_job:
            self.message_user(
                request,
                gettext("None of the selected items failed: nothing to retry."),
                messages.WARNING,
            )
            return
        for job in SyncJob.objects.filter(pk__in=keys_by_job).select_related("integration"):
            try:
                retry = job_retry_items(job=job, keys=keys_by_job[job.pk], user=request.user)
            except JobNotAllowed as exc:
                self.message_user(request, f"#{job.pk}: {exc}", messages.WARNING)
                continue
            if retry is None:
                continue
            if retry.retry_of_id == job.pk:
                self.message_user(
                    request,
                    gettext("Job #%(job)d: %(n)d item(s) retried as job #%(retry)d.")
                    % {"job": job.pk, "n": len(retry.options.get("only", [])), "retry": retry.pk},
                )
            else:
                # Two jobs of one kind never run at once: these items wait for that one to end.
                self.message_user(
                    request,
                    gettext(
                        "Job #%(job)d: job #%(retry)d of the same kind is already waiting; "
                        "retry these items again once it has finished."
                    )
                    % {"job": job.pk, "retry": retry.pk},
                    messages.WARNING,
                )

    @admin.display(description=_("message"))
    def short_message(self, obj: SyncItem) -> str:
        return obj.message if len(obj.message) <= 120 else obj.message[:119] + "…"

    @admin.display(description=_("request and response"))
    def detail_pretty(self, obj: SyncItem) -> SafeString | str:
        return pretty_json(obj.detail)

    @admin.display(description=_("time"), ordering="created_at")
    def time(self, obj: SyncItem) -> str:
        return local_time(obj.created_at, seconds=True)


@admin.register(Link)
class LinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Link]):
    list_display = [
        "integration",
        "entity",
        "source_id",
        "target_id",
        "natural_key",
        "state",
        "updated",
    ]
    list_select_related = ["integration__customer"]
    list_filter = ["entity", "state"]
    search_fields = ["source_id", "target_id", "natural_key"]
    show_full_result_count = False

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, obj: Link) -> str:
        return local_time(obj.updated_at, seconds=True)


@admin.register(Cursor)
class CursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Cursor]):
    list_display = ["integration", "connection", "entity", "value", "updated_at"]
    list_select_related = ["integration__customer", "connection__customer"]
    list_filter = ["entity"]


# The merchants' status pages (issue 7): links, merchant logins, notices.
from integrator import admin_status  # noqa: E402, F401
