"""The Visma sandbox's companies: their objects, indexed so that lookups by id and by natural key
(CustomerNumber, Number, YourReference) stay O(1) at benchmark volume, plus what the tests read
(create and update calls per natural key, token requests, throttled requests)."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shops.sandbox import demo_data
from shops.sandbox.state import odata_filter

LISTED = tuple(
    """customers articles articleaccountcodings termsofpayments customerinvoicedrafts
    customerinvoices orders units fiscalyears bankaccounts webhooks costcenters notes
    salespricelists""".split()
)
# The fields each collection is indexed by, besides its Id: what `$filter=<field> eq '…'` asks.
KEY_FIELDS = {
    "customers": ("CustomerNumber",),
    "articles": ("Number",),
    "customerinvoicedrafts": ("YourReference",),
    "customerinvoices": ("YourReference",),
    "orders": ("YourReference",),
}
HOME_CURRENCY = "SEK"
# Visma's automatic rate (SEK per unit) for an invoice in another currency: fixed here so tests
# can compute what Visma will show; POST /_sandbox/visma/currencyrates changes one company's.
CURRENCY_RATES = {
    "EUR": Decimal("11.2350"),
    "USD": Decimal("10.4120"),
    "NOK": Decimal("0.9860"),
    "DKK": Decimal("1.5060"),
    "GBP": Decimal("13.1840"),
}
_EQUALS = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")


class Collection:
    """Objects in creation order, with indexes by Id and by the collection's key fields."""

    def __init__(self, name: str, items: list[dict[str, Any]] | None = None) -> None:
        self.name = name
        self.items: dict[str, dict[str, Any]] = {}  # Id (lower case) -> object, ordered
        self.by_key: dict[str, defaultdict[str, dict[str, dict]]] = {
            field: defaultdict(dict) for field in KEY_FIELDS.get(name, ())
        }
        for item in items or []:
            self.add(item)

    def __iter__(self):  # noqa: ANN204 - an iterator of objects
        return iter(list(self.items.values()))

    def __len__(self) -> int:
        return len(self.items)

    def _index(self, item: dict[str, Any], add: bool) -> None:
        for field, index in self.by_key.items():
            value = str(item.get(field) or "").casefold()
            if add:
                index[value][item["Id"].lower()] = item
            else:
                index[value].pop(item["Id"].lower(), None)

    def add(self, item: dict[str, Any]) -> dict[str, Any]:
        self.items[item["Id"].lower()] = item
        self._index(item, True)
        return item

    def remove(self, item: dict[str, Any]) -> None:
        self.items.pop(item["Id"].lower(), None)
        self._index(item, False)

    def replace(self, item: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        self._index(item, False)
        item.update(changes)
        self._index(item, True)
        return item

    def find(self, object_id: str) -> dict[str, Any] | None:
        return self.items.get(object_id.lower())

    def lookup(self, field: str, value: str) -> list[dict[str, Any]]:
        """The objects whose key `field` equals `value` (case-insensitively, as Visma compares)."""
        return list(self.by_key[field].get(value.casefold(), {}).values())

    def matching(self, expression: str) -> list[dict[str, Any]]:
        """The objects a $filter selects. `<key field> eq '…'` is answered from the index (the
        engine asks it once per order); anything else is evaluated object by object."""
        if not expression:
            return list(self.items.values())
        simple = _EQUALS.match(expression)
        if simple and simple.group(1) in self.by_key:
            return self.lookup(simple.group(1), simple.group(2).replace("''", "'"))
        predicate: Callable[[dict], bool] = odata_filter(expression)
        return [item for item in self.items.values() if predicate(item)]


@dataclasses.dataclass
class Company:
    key: str
    name: str
    data: dict[str, Collection]
    settings: dict[str, Any]
    vat_codes: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    vouchers: dict[str, Collection]  # per fiscal year id
    payments: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # Price list id (lower case) -> article id (lower case) -> SalesPriceListRowApi.
    sales_prices: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    create_calls: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    update_calls: defaultdict[str, Counter[str]] = dataclasses.field(
        default_factory=lambda: defaultdict(Counter)
    )
    token_requests: Counter[str] = dataclasses.field(default_factory=Counter)
    currency_rates: dict[str, Decimal] = dataclasses.field(
        default_factory=lambda: dict(CURRENCY_RATES)
    )
    throttled: int = 0
    next_invoice_number: int = 10001
    next_order_number: int = 1
    next_voucher_number: int = 1

    @classmethod
    def demo(cls, tenant: str) -> Company:
        seeded = demo_data.visma_company(tenant)
        data = {name: Collection(name, [dict(o) for o in seeded.get(name, [])]) for name in LISTED}
        years = seeded["fiscalyears"]
        sales_prices: dict[str, dict[str, dict[str, Any]]] = {}
        for row in seeded.get("salesprices", []):
            by_article = sales_prices.setdefault(row["SalesPriceListId"].lower(), {})
            by_article[row["ArticleId"].lower()] = dict(row)
        return cls(
            key=tenant,
            name=demo_data.COMPANY_NAMES[tenant],
            data=data,
            settings=dict(seeded["companysettings"]),
            vat_codes=list(seeded["vatcodes"]),
            accounts=list(seeded["accounts"]),
            vouchers={year["Id"].lower(): Collection("vouchers") for year in years},
            sales_prices=sales_prices,
            next_order_number=1 + max((o["Number"] for o in data["orders"]), default=0),
        )

    def is_pro(self) -> bool:
        return self.settings.get("ProductVariant") == demo_data.PRO_VARIANT

    def cost_centre_item(self, item_id: str, number: int = 1) -> dict[str, Any] | None:
        """The item of cost centre `number` with this id (any case), or None."""
        for centre in self.data["costcenters"]:
            if centre.get("Number") == number:
                for item in centre.get("Items") or []:
                    if item["Id"].lower() == item_id.lower():
                        return item
        return None

    def find(self, collection: str, object_id: str) -> dict[str, Any] | None:
        return self.data[collection].find(object_id)

    def currency_rate(self, currency: str) -> Decimal | None:
        """SEK per unit of `currency` today; None for a currency Visma has no rate of."""
        if currency.upper() == HOME_CURRENCY:
            return Decimal(1)
        return self.currency_rates.get(currency.upper())

    def has_module(self, module: str) -> bool:
        return module in (self.settings.get("ActivatedModules") or [])

    def fiscal_year_for(self, date: datetime.date) -> dict[str, Any] | None:
        for year in self.data["fiscalyears"]:
            start = datetime.date.fromisoformat(year["StartDate"][:10])
            end = datetime.date.fromisoformat(year["EndDate"][:10])
            if start <= date <= end:
                return year
        return None

    def locked(self, date: datetime.date) -> str:
        """Why nothing can be booked on `date` ("" when it can)."""
        year = self.fiscal_year_for(date)
        if year is None:
            return ""  # reported separately: FiscalYearDoesNotExist
        locked_to = self.settings.get("AccountingLockedTo")
        if year.get("IsLockedForAccounting"):
            return f"The fiscal year {year['StartDate'][:4]} is locked for accounting."
        if locked_to and date <= datetime.date.fromisoformat(str(locked_to)[:10]):
            return f"The date {date} is in a locked period (accounting is locked to {locked_to})."
        return ""

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **{name: list(self.data[name]) for name in SNAPSHOT_COLLECTIONS},
            "vouchers": [v for year in self.vouchers.values() for v in year],
            "payments": self.payments,
            "create_calls": {k: dict(v) for k, v in self.create_calls.items()},
            "update_calls": {k: dict(v) for k, v in self.update_calls.items()},
            "token_requests": dict(self.token_requests),
            "throttled": self.throttled,
            "settings": self.settings,
            "currency_rates": self.currency_rates,
        }


# What /_sandbox/state shows of each company (the static demo collections are left out).
SNAPSHOT_COLLECTIONS = (
    "customers",
    "customerinvoicedrafts",
    "customerinvoices",
    "orders",
    "articles",
    "webhooks",
    "notes",
)
