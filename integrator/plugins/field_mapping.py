"""The declarative plugin for the common case, configured as rules (data, never code):

{"rule": "replace_sku", "pattern": "^(.*)-SE$", "replacement": "\\\\1"}
    the shop's article number → the ERP's (a regular expression; \\1 for groups)
{"rule": "ignore", "field": "article_number" | "description", "matches": "^GIFT-"}
    leave out order rows and catalogue items that match
{"rule": "ignore", "field": "status" | "channel", "matches": "^B2B$"}
    leave out whole orders that match
{"rule": "price_markup", "percent": "10"}
    add a percentage to prices going to the shop (rounded to öre)
{"rule": "map_field", "from": "customer.phone", "to": "customer.email"}
    copy one order field into another, for shops that keep data in a non-standard place
"""

from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integrator.plugins import Plugin, register
from shops.clients.types import ShopOrder

MAX_PATTERN = 200
ROW_FIELDS = {"article_number", "description"}
ORDER_FIELDS = {"status", "channel"}
# Fields a map_field rule may read and write: plain strings on the order or its customer.
MAPPABLE = {
    "order_number",
    "channel",
    "customer.name",
    "customer.email",
    "customer.phone",
    "customer.organisation_number",
    "customer.vat_number",
}


def _pattern(rule: dict[str, Any], key: str, position: int) -> re.Pattern[str]:
    text = rule.get(key)
    if not isinstance(text, str) or not text or len(text) > MAX_PATTERN:
        raise ValidationError(
            _("rule %(n)d: %(key)s must be a pattern of 1 to %(max)d characters.")
            % {"n": position, "key": key, "max": MAX_PATTERN}
        )
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValidationError(
            _("rule %(n)d: %(key)s is not a valid pattern (%(error)s).")
            % {"n": position, "key": key, "error": exc}
        ) from exc


def _get(order: ShopOrder, path: str) -> str:
    owner, _dot, field = path.rpartition(".")
    return getattr(order.customer if owner == "customer" else order, field) or ""


def _set(order: ShopOrder, path: str, value: str) -> ShopOrder:
    owner, _dot, field = path.rpartition(".")
    if owner == "customer":
        return dataclasses.replace(
            order, customer=dataclasses.replace(order.customer, **{field: value})
        )
    return dataclasses.replace(order, **{field: value})


@register
class FieldMapping(Plugin):
    name = "field_mapping"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        rules = config.get("rules")
        if not isinstance(rules, list) or not rules:
            raise ValidationError(_("rules: give a list of at least one rule."))
        cleaned = []
        for n, rule in enumerate(rules, start=1):
            kind = rule.get("rule") if isinstance(rule, dict) else None
            if kind == "replace_sku":
                replacement = rule.get("replacement")
                if not isinstance(replacement, str):
                    raise ValidationError(_("rule %(n)d: replacement is missing.") % {"n": n})
                cleaned.append({**rule, "compiled": _pattern(rule, "pattern", n)})
            elif kind == "ignore":
                if rule.get("field") not in ROW_FIELDS | ORDER_FIELDS:
                    raise ValidationError(
                        _("rule %(n)d: field must be one of %(fields)s.")
                        % {"n": n, "fields": ", ".join(sorted(ROW_FIELDS | ORDER_FIELDS))}
                    )
                cleaned.append({**rule, "compiled": _pattern(rule, "matches", n)})
            elif kind == "price_markup":
                try:
                    percent = Decimal(str(rule.get("percent")))
                except InvalidOperation:
                    percent = None
                if percent is None or not Decimal("-90") <= percent <= Decimal("500"):
                    raise ValidationError(
                        _("rule %(n)d: percent must be a number from -90 to 500.") % {"n": n}
                    )
                cleaned.append({**rule, "percent": percent})
            elif kind == "map_field":
                if rule.get("from") not in MAPPABLE or rule.get("to") not in MAPPABLE:
                    raise ValidationError(
                        _("rule %(n)d: from and to must be among %(fields)s.")
                        % {"n": n, "fields": ", ".join(sorted(MAPPABLE))}
                    )
                cleaned.append(rule)
            else:
                raise ValidationError(
                    _(
                        "rule %(n)d: unknown rule %(rule)r (replace_sku, ignore, price_markup, "
                        "map_field)."
                    )
                    % {"n": n, "rule": kind}
                )
        return {"rules": cleaned}

    def _rules(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.config["rules"] if r["rule"] == kind]

    def order(self, order: ShopOrder) -> ShopOrder | None:
        for rule in self._rules("ignore"):
            if rule["field"] in ORDER_FIELDS and rule["compiled"].search(
                getattr(order, rule["field"]) or ""
            ):
                return None
        for rule in self._rules("map_field"):
            order = _set(order, rule["to"], _get(order, rule["from"]))
        rows = []
        for row in order.rows:
            if self._row_ignored(row.article_number, row.description):
                continue
            number = row.article_number and self.article_number(row.article_number)
            rows.append(dataclasses.replace(row, article_number=number or ""))
        return dataclasses.replace(order, rows=rows)

    def _row_ignored(self, article_number: str, description: str) -> bool:
        values = {"article_number": article_number, "description": description}
        return any(
            rule["compiled"].search(values[rule["field"]] or "")
            for rule in self._rules("ignore")
            if rule["field"] in ROW_FIELDS
        )

    def article_number(self, number: str) -> str | None:
        if self._row_ignored(number, ""):
            return None
        for rule in self._rules("replace_sku"):
            number = rule["compiled"].sub(rule["replacement"], number)
        return number

    def price(self, article_number: str, price: Decimal) -> Decimal:
        for rule in self._rules("price_markup"):
            price = (price * (1 + rule["percent"] / 100)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
        return price
