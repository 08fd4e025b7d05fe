"""django-import-export resources: customers, time entries and hour purchases in and out, fee
invoices and quota use out. Imports are keyed on a natural key, so importing the same file
twice changes nothing; every row is validated like an admin form (errors per row)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from stdnum.se import orgnr

from billing.models import Customer, FeeInvoice, HourPurchase, QuotaMonth, TimeEntry
from billing.quota import quota_for

User = get_user_model()


def _normalise_organisation_number(row: dict[str, Any], column: str) -> None:
    """People type org numbers with or without the dash; the key is stored with it."""
    value = str(row.get(column) or "").strip()
    if orgnr.is_valid(value):
        row[column] = orgnr.format(value)


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A related row found by its natural key; an unknown key is that row's validation error
    (import-export reports a lookup failure as a crash of the whole row otherwise)."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist as exc:
            raise ValueError(
                _("No %(model)s with %(field)s “%(value)s”.")
                % {
                    "model": self.model._meta.verbose_name,
                    "field": self.model._meta.get_field(self.field).verbose_name,
                    "value": value,
                }
            ) from exc


class ChoiceWidget(widgets.Widget):
    """Accepts a choice's code or its label in the active language ("training", "Training")."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = str(value or "").strip()
        for code, label in self.choices:
            if text.lower() in (str(code).lower(), str(label).lower()):
                return code
        return text  # the model's validation names the allowed values

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return str(value or "")


class ImportResource(resources.ModelResource):
    class Meta:
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_instance(self, instance_loader: Any, row: Any) -> Any:
        # The natural key is read before the row is validated: a key column that names nobody
        # (an unknown customer) is that row's validation error, not a crash of the row.
        errors = {}
        for name in self.get_import_id_fields():
            field = self.fields[name]
            try:
                field.clean(row)
            except ValueError as exc:
                errors[field.attribute] = ValidationError(str(exc), code="invalid")
        if errors:
            raise ValidationError(errors)
        return super().get_instance(instance_loader, row)


class CustomerResource(ImportResource):
    account_manager = fields.Field(
        attribute="account_manager",
        column_name="account_manager",
        widget=NaturalKeyWidget(User, User.USERNAME_FIELD),
    )

    class Meta(ImportResource.Meta):
        model = Customer
        name = _("Customers (key: organisation number)")
        fields = (
            "organisation_number",
            "name",
            "vat_number",
            "contact_name",
            "contact_email",
            "contact_phone",
            "account_manager",
        )
        import_id_fields = ("organisation_number",)

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        _normalise_organisation_number(row, "organisation_number")


class _CustomerRowResource(ImportResource):
    customer = fields.Field(
        attribute="customer",
        column_name="customer",
        widget=NaturalKeyWidget(Customer, "organisation_number"),
    )

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        _normalise_organisation_number(row, "customer")


class TimeEntryResource(_CustomerRowResource):
    staff = fields.Field(
        attribute="staff",
        column_name="staff",
        widget=NaturalKeyWidget(User, User.USERNAME_FIELD),
    )
    category = fields.Field(
        attribute="category",
        column_name="category",
        widget=ChoiceWidget(TimeEntry.Category.choices),
    )

    class Meta(ImportResource.Meta):
        model = TimeEntry
        name = _("Time entries (key: customer, date, who, category, description)")
        fields = (
            "customer",
            "date",
            "hours",
            "category",
            "description",
            "staff",
            "below_zero_reason",
        )
        import_id_fields = ("customer", "date", "staff", "category", "description")

    def before_import_row(self, row: dict[str, Any], **kwargs: Any) -> None:
        super().before_import_row(row, **kwargs)
        # No "who" column, or an empty one: the hours are the importing person's own.
        user = kwargs.get("user")
        if not str(row.get("staff") or "").strip() and user is not None:
            row["staff"] = user.get_username()


class HourPurchaseResource(_CustomerRowResource):
    class Meta(ImportResource.Meta):
        model = HourPurchase
        name = _("Hour purchases (key: customer, date, hours)")
        fields = ("customer", "date", "hours", "price", "discount_percent", "note")
        import_id_fields = ("customer", "date", "hours")

    def before_save_instance(self, instance: HourPurchase, row: Any, **kwargs: Any) -> None:
        user = kwargs.get("user")
        if instance.created_by_id is None and getattr(user, "pk", None):
            instance.created_by = user


class FeeInvoiceResource(resources.ModelResource):
    customer_name = fields.Field(attribute="customer__name", column_name="customer")
    organisation_number = fields.Field(
        attribute="customer__organisation_number", column_name="organisation_number"
    )
    month = fields.Field(column_name="month")
    lines = fields.Field(column_name="lines")

    class Meta:
        model = FeeInvoice
        name = _("Fee invoices")
        fields = (
            "number",
            "customer_name",
            "organisation_number",
            "month",
            "subtotal",
            "vat",
            "total",
            "sent_on",
            "lines",
        )
        export_order = fields

    def dehydrate_month(self, invoice: FeeInvoice) -> str:
        return f"{invoice.month:%Y-%m}"

    def dehydrate_lines(self, invoice: FeeInvoice) -> str:
        # Prefetched by the admin's export queryset: one query for all invoices.
        return "; ".join(f"{line.description}: {line.amount}" for line in invoice.lines.all())


class QuotaUseResource(resources.ModelResource):
    customer_name = fields.Field(attribute="customer__name", column_name="customer")
    organisation_number = fields.Field(
        attribute="customer__organisation_number", column_name="organisation_number"
    )
    month = fields.Field(column_name="month")
    quota = fields.Field(column_name="quota")
    percent = fields.Field(column_name="percent")
    overage = fields.Field(column_name="overage")

    class Meta:
        model = QuotaMonth
        name = _("Quota use per customer and month")
        fields = (
            "customer_name",
            "organisation_number",
            "month",
            "used",
            "quota",
            "percent",
            "overage",
        )
        export_order = fields

    @staticmethod
    def _quota(row: QuotaMonth) -> int | None:
        # The customer's subscriptions are prefetched by the admin's export queryset.
        subscription = quota_for(row.customer.subscriptions.all(), row.month)
        return subscription.order_quota if subscription else None

    def dehydrate_month(self, row: QuotaMonth) -> str:
        return f"{row.month:%Y-%m}"

    def dehydrate_quota(self, row: QuotaMonth) -> int | str:
        quota = self._quota(row)
        return "" if quota is None else quota

    def dehydrate_percent(self, row: QuotaMonth) -> int | str:
        quota = self._quota(row)
        return row.used * 100 // quota if quota else ""

    def dehydrate_overage(self, row: QuotaMonth) -> int:
        quota = self._quota(row)
        return max(0, row.used - quota) if quota is not None else 0
