"""The few forms support staff fill in: uploading a settlement file, saying what was done with a
line, and giving a foreign-currency payout its exchange rate."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from ledger.parsers import PROVIDERS
from shops.models import Connection


class ImportForm(forms.Form):
    connection = forms.ModelChoiceField(
        label=_("gateway"),
        queryset=Connection.objects.filter(kind=Connection.Kind.GATEWAY).select_related("customer"),
    )
    provider = forms.ChoiceField(
        label=_("format"),
        required=False,
        choices=[("", _("Recognise from the content"))] + [(p, p) for p in PROVIDERS],
    )
    file = forms.FileField(label=_("settlement file"))


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("what was done"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text=_("Kept with the line and in the audit trail, with your name."),
    )


class RateForm(forms.Form):
    rate = forms.DecimalField(
        label=_("exchange rate"),
        min_value=Decimal("0.000001"),
        max_digits=14,
        decimal_places=6,
        help_text=_("Accounting currency per unit of the payout's currency, e.g. 11.4825."),
    )
