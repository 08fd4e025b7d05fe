"""Stripe: payouts, the balance transactions each settles, and the reconciliation report.

- GET  /v1/payouts                               arrival_date[gte|lte], limit (≤ 100),
                                                 starting_after (cursor); newest first
- GET  /v1/balance_transactions?payout=po_…      expand[]=data.source for the order number
- GET  /v1/charges/{id}                          the order behind a refund or dispute of a
                                                 charge paid out earlier
- POST /v1/reporting/report_runs                 "Itemized payout reconciliation" for one
  GET  /v1/reporting/report_runs/{id}            payout (payout_reconciliation.by_id.itemized.4),
  GET  <result.url>                              a CSV on files.stripe.com
Lists are {"object": "list", "data", "has_more"}. Amounts are integers in the currency's minor
unit (none for zero-decimal currencies such as JPY); they become Decimals here, once. The order
number is the charge's `metadata.order_id`, which the shop's Stripe plugin sets.

Credentials: the merchant's `secret_key` (a restricted key with read access to balance, payouts,
charges and reporting is enough), sent as a Bearer token. Errors are
{"error": {"type", "code", "message", "param"}}; `param` names the offending field.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

from shops.clients import ratelimit
from shops.clients.base import ApiClient
from shops.clients.errors import ApiError, RemoteDown
from shops.clients.types import GatewayPayout, GatewayTransaction

API_VERSION = "2024-06-20"  # pinned, so a change of account default cannot change the shapes
REPORT_TYPE = "payout_reconciliation.by_id.itemized.4"
# The report's default columns plus the order number; naming them pins the file's layout.
REPORT_COLUMNS = (
    "balance_transaction_id created_utc created available_on_utc available_on currency gross fee "
    "net reporting_category source_id description customer_facing_amount customer_facing_currency "
    "automatic_payout_id automatic_payout_effective_at_utc automatic_payout_effective_at "
    "customer_id customer_email customer_name charge_id payment_intent_id charge_created_utc "
    "payment_method_type card_brand card_country dispute_reason payment_metadata[order_id]"
).split()
# Seconds between looks at a report run: Stripe prepares reports in seconds to minutes.
REPORT_POLL = (0.0, 1.0, 2.0, 3.0, 5.0, 5.0, 10.0, 10.0, 20.0)
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
# Types that only carry a fee Stripe charged (not money from a buyer): shown as fee, amount 0.
FEE_ONLY = frozenset({"stripe_fee", "stripe_fx_fee", "tax"})
# Types that move the payout itself: not something the payout settles.
PAYOUT_TYPES = frozenset({"payout", "payout_cancel", "payout_failure"})


def minor(value: Any, currency: str) -> Decimal:
    """Stripe's minor units as a Decimal in major units, exactly."""
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    return Decimal(int(value or 0)).scaleb(-exponent)


def _time(stamp: Any) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(stamp), datetime.UTC)


def _stamp(day: datetime.date, end: bool = False) -> int:
    moment = datetime.time(23, 59, 59) if end else datetime.time()
    return int(datetime.datetime.combine(day, moment, tzinfo=datetime.UTC).timestamp())


class StripeClient(ApiClient):
    system = "Stripe"
    PAGE_SIZE = 100  # Stripe's maximum
    RATE_LIMIT = ratelimit.Limit(requests=100, per_seconds=1.0)  # live mode, per account

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._want_bytes = False
        self._transactions: dict[str, list[dict[str, Any]]] = {}
        self._charge_orders: dict[str, str] = {}

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.connection.credentials.get('secret_key', '')}",
            "Stripe-Version": API_VERSION,
        }

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return response.text[:300] or response.reason, ""
        message = str(error.get("message") or response.reason)
        code = error.get("code") or error.get("type") or ""
        return (f"{message} ({code})" if code else message), str(error.get("param") or "")

    def _decoded(self, response: requests.Response) -> Any:
        # The reconciliation report is CSV: handed over as the bytes Stripe sent.
        return response.content if self._want_bytes else super()._decoded(response)

    def _list(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a Stripe list, following the starting_after cursor."""
        query = {**params, "limit": params.get("limit") or self.PAGE_SIZE}
        while True:
            body = self.request("GET", path, params=query) or {}
            data = body.get("data") or []
            yield from data
            if not body.get("has_more") or not data:
                return
            query["starting_after"] = data[-1]["id"]

    # --- payouts -------------------------------------------------------------------------------

    def payouts(
        self,
        *,
        date_min: datetime.date | None = None,
        date_max: datetime.date | None = None,
        status: str = "",
        page_size: int = PAGE_SIZE,
    ) -> Iterator[GatewayPayout]:
        """Payouts arriving within the dates (inclusive), newest first. Gross and fees come
        from each payout's balance transactions, which are kept for payout_transactions()."""
        params: dict[str, Any] = {"limit": page_size}
        if date_min:
            params["arrival_date[gte]"] = _stamp(date_min)
        if date_max:
            params["arrival_date[lte]"] = _stamp(date_max, end=True)
        if status:
            params["status"] = status
        for data in self._list("/v1/payouts", params):
            yield self._payout(data)

    def payout(self, payout_id: str) -> GatewayPayout:
        return self._payout(self.request("GET", f"/v1/payouts/{payout_id}"))

    def payout_transactions(self, payout_id: str) -> Iterator[GatewayTransaction]:
        """What the payout settles (its own `payout` balance transaction left out), oldest
        first; their `net` sums to the payout's amount."""
        for row in reversed(self._balance_transactions(payout_id)):
            if row.get("type") not in PAYOUT_TYPES:
                yield self._transaction(row, payout_id)

    def payout_file(self, payout_id: str) -> tuple[str, bytes]:
        """Stripe's "Itemized payout reconciliation" report of the payout (CSV), unchanged."""
        form = {"report_type": REPORT_TYPE, "parameters[payout]": payout_id}
        form.update({f"parameters[columns][{i}]": c for i, c in enumerate(REPORT_COLUMNS)})
        # The same key for the same payout: a retried request gets the same run back.
        digest = hashlib.sha256(repr(sorted(form.items())).encode()).hexdigest()[:16]
        run = self._post_form("/v1/reporting/report_runs", form, f"recon-{payout_id}-{digest}")
        for pause in REPORT_POLL:
            time.sleep(pause)
            run = self.request("GET", f"/v1/reporting/report_runs/{run['id']}")
            if run.get("status") == "succeeded":
                return f"stripe-payout-reconciliation-{payout_id}.csv", self._download(run)
            if run.get("status") == "failed":
                raise ApiError(f"Stripe could not prepare the report: {run.get('error')}")
        raise RemoteDown(f"Stripe is still preparing report {run['id']}; try again later.")

    # --- helpers -------------------------------------------------------------------------------

    def _balance_transactions(self, payout_id: str) -> list[dict[str, Any]]:
        if payout_id not in self._transactions:
            params = {"payout": payout_id, "expand[]": "data.source"}
            rows = list(self._list("/v1/balance_transactions", params))
            # Charges paid out here answer for their own refunds and disputes without a lookup.
            for row in rows:
                source = row.get("source")
                if isinstance(source, dict) and source.get("object") == "charge":
                    self._charge_orders[source["id"]] = _order_of(source)
            self._transactions[payout_id] = rows
        return self._transactions[payout_id]

    def _post_form(self, path: str, form: dict[str, str], idempotency_key: str) -> Any:
        # A write, so sent once (base rule); the idempotency key makes a manual retry safe.
        headers = {**self.auth_headers(), "Idempotency-Key": idempotency_key}
        response = self.send("POST", self.url(path), data=form, headers=headers)
        self.raise_for_status(response)
        return self._decoded(response)

    def _download(self, run: dict[str, Any]) -> bytes:
        url = str((run.get("result") or {}).get("url") or "")
        host = urlsplit(url).netloc
        # The secret key goes with the request: only ever to Stripe (or the API host we use).
        if host not in ("files.stripe.com", urlsplit(self.base_url).netloc):
            raise ApiError(f"Stripe's report link points outside Stripe: {url[:100]}")
        self._want_bytes = True
        try:
            return self.request("GET", url)
        finally:
            self._want_bytes = False

    def _order_for_charge(self, charge_id: str) -> str:
        if charge_id and charge_id not in self._charge_orders:
            self._charge_orders[charge_id] = _order_of(
                self.request("GET", f"/v1/charges/{charge_id}")
            )
        return self._charge_orders.get(charge_id, "")

    # --- Stripe → dataclasses ------------------------------------------------------------------

    def _payout(self, data: dict[str, Any]) -> GatewayPayout:
        currency = str(data.get("currency") or "sek")
        settled = [
            self._transaction(row, data["id"])
            for row in self._balance_transactions(data["id"])
            if row.get("type") not in PAYOUT_TYPES
        ]
        return GatewayPayout(
            payout_id=str(data["id"]),
            status=str(data.get("status") or ""),
            date=_time(data["arrival_date"]).date(),  # midnight UTC of the arrival day
            currency=currency.upper(),
            amount=minor(data.get("amount"), currency),
            gross=sum((t.amount for t in settled), Decimal("0.00")),
            fees=sum((t.fee for t in settled), Decimal("0.00")),
            provider="stripe",
            raw=data,
        )

    def _transaction(self, data: dict[str, Any], payout_id: str) -> GatewayTransaction:
        currency = str(data.get("currency") or "sek")
        kind = str(data.get("type") or "")
        amount, fee = minor(data.get("amount"), currency), minor(data.get("fee"), currency)
        net = minor(data.get("net"), currency)
        if kind in FEE_ONLY:
            # Stripe books its own charges as negative amounts; as fees they read the same
            # way as every other gateway's: a positive cost, no money from a buyer.
            amount, fee = Decimal("0.00"), fee - amount
        source = data.get("source")
        source_id = source.get("id", "") if isinstance(source, dict) else str(source or "")
        source_type = source.get("object", "") if isinstance(source, dict) else ""
        order = ""
        if isinstance(source, dict):
            order = _order_of(source) or self._order_for_charge(str(source.get("charge") or ""))
        return GatewayTransaction(
            transaction_id=str(data["id"]),
            payout_id=payout_id,
            kind=kind,
            amount=amount,
            fee=fee,
            net=net,
            currency=currency.upper(),
            order_reference=order,
            source_id=source_id,
            source_type=source_type,
            processed_at=_time(data["created"]),
            provider="stripe",
            raw=data,
        )


def _order_of(source: dict[str, Any]) -> str:
    return str((source.get("metadata") or {}).get("order_id") or "")
