"""Admin for connections. Credentials are write-only here: support staff can replace them, and
can see that they exist and which keys they hold, but never their values (DESIGN.md section 5)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.admin import EMPTY, local_time
from shops.models import Connection
from shops.webhooks import WEBHOOK_PLATFORMS, webhook_url

HEALTH_COLOURS = {
    Connection.Health.UNKNOWN: "#999999",
    Connection.Health.OK: "#2e7d32",
    Connection.Health.WARNING: "#ef8f00",
    Connection.Health.ERROR: "#c62828",
}


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value: when the form comes back with an error elsewhere, the secrets
    just typed must not be printed into the page again."""

    def format_value(self, value: Any) -> None:
        return None


class ConnectionForm(forms.ModelForm):
    # Declared for assume_scheme: every API we talk to is https (and Django 6 will assume it).
    base_url = forms.URLField(label=_("base URL"), max_length=300, assume_scheme="https")
    new_credentials = forms.CharField(
        label=_("New credentials (JSON)"),
        required=False,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            'A JSON object, e.g. {"client_id": "…", "client_secret": "…"}. It replaces the '
            "stored credentials. Leave empty to keep the stored ones."
        ),
    )

    class Meta:
        model = Connection
        fields = ["customer", "name", "platform", "base_url", "enabled"]

    def clean_new_credentials(self) -> dict[str, Any] | None:
        text = self.cleaned_data["new_credentials"].strip()
        if not text:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            # Position only: echoing the text would put the secret in the page.
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)d, column %(column)d)."),
                params={"line": exc.lineno, "column": exc.colno},
            ) from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError(_("The credentials must be a JSON object: {…}."))
        if not parsed:
            # An empty object would silently delete the stored credentials.
            raise forms.ValidationError(_("The JSON object is empty."))
        return parsed


class HealthFilter(admin.SimpleListFilter):
    """Health, with "anything wrong" first: it is the question support asks most."""

    title = _("health")
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("problem", _("Needs attention or not working")), *Connection.Health.choices]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "problem":
            return queryset.filter(health__in=[Connection.Health.WARNING, Connection.Health.ERROR])
        if self.value():
            return queryset.filter(health=self.value())
        return queryset


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin[Connection]):
    form = ConnectionForm
    list_display = [
        "customer",
        "name",
        "platform",
        "kind",
        "enabled",
        "health_light",
        "last_success",
        "last_error",
        "credentials_stored",
    ]
    list_display_links = ["customer", "name"]
    list_select_related = ["customer"]
    list_filter = ["platform", "kind", HealthFilter, "enabled"]
    search_fields = ["name", "base_url", "customer__name", "customer__organisation_number"]
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "kind",
        "health_light",
        "last_success",
        "last_error",
        "credentials_stored",
        "credential_keys",
        "webhook_address",
        "created_at",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Connection | None = None) -> Any:
        fieldsets: list[tuple[Any, dict[str, Any]]] = [
            (None, {"fields": ["customer", "name", "platform", "kind", "base_url", "enabled"]}),
            (
                _("Credentials"),
                {"fields": ["credentials_stored", "credential_keys", "new_credentials"]},
            ),
        ]
        if obj is not None and obj.platform in WEBHOOK_PLATFORMS:
            fieldsets.append((_("Webhooks"), {"fields": ["webhook_address"]}))
        if obj is not None:
            fieldsets.append(
                (
                    _("Health"),
                    {"fields": ["health_light", "last_success", "last_error", "created_at"]},
                )
            )
        return fieldsets

    def save_model(
        self, request: HttpRequest, obj: Connection, form: ConnectionForm, change: bool
    ) -> None:
        new = form.cleaned_data.get("new_credentials")
        if new is not None:
            obj.credentials = new
        super().save_model(request, obj, form, change)

    @admin.display(description=_("health"), ordering="health")
    def health_light(self, obj: Connection) -> str:
        return format_html(
            '<span style="color: {}; font-size: 1.2em" aria-hidden="true">●</span> {}{}',
            HEALTH_COLOURS.get(obj.health, "#999999"),
            obj.get_health_display(),
            f": {obj.health_message}" if obj.health_message else "",
        )

    @admin.display(description=_("last success"), ordering="last_success_at")
    def last_success(self, obj: Connection) -> str:
        return local_time(obj.last_success_at)

    @admin.display(description=_("last error"), ordering="last_error_at")
    def last_error(self, obj: Connection) -> str:
        return local_time(obj.last_error_at)

    @admin.display(description=_("webhook delivery address"))
    def webhook_address(self, obj: Connection) -> str:
        # Give this to the shop for order create/update events; the signature is checked with
        # the connection's secret and each delivery is accepted once.
        return settings.SITE_URL.rstrip("/") + webhook_url(obj)

    # has_credentials only looks at the stored token: nothing is decrypted for the list.
    @admin.display(description=_("credentials stored"), boolean=True)
    def credentials_stored(self, obj: Connection) -> bool:
        return obj.has_credentials

    @admin.display(description=_("stored keys"))
    def credential_keys(self, obj: Connection) -> str:
        """The key names only, so support can see what is there without seeing a value."""
        if not obj.has_credentials:
            return EMPTY
        try:
            names = sorted(obj.credentials)
        except ImproperlyConfigured:
            return str(_("Cannot be decrypted with the current CREDENTIALS_KEYS."))
        return ", ".join(names)
