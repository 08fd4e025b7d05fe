"""A small plugin in code: fill in the country of addresses that have none. Some shops leave it
out for domestic orders, and Visma needs it on the invoice. The pattern to follow for plugins
written for one customer."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from integrator.plugins import Plugin, register
from shops.clients.types import Address, ShopOrder


@register
class DefaultCountry(Plugin):
    name = "default_country"

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        code = config.get("country_code")
        if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
            raise ValidationError(_("country_code: two letters, e.g. SE."))
        return {"country_code": code.upper()}

    def _filled(self, address: Address | None) -> Address | None:
        if address is None or address.country_code:
            return address
        return dataclasses.replace(address, country_code=self.config["country_code"])

    def order(self, order: ShopOrder) -> ShopOrder:
        customer = dataclasses.replace(
            order.customer,
            billing=self._filled(order.customer.billing),
            shipping=self._filled(order.customer.shipping),
        )
        return dataclasses.replace(order, customer=customer)
