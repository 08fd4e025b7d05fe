"""PayPal: payouts (withdrawals to the bank) and what they settle, from Transaction Search, and
the Settlement Report (STL) file of the payout's day.

- POST /v1/oauth2/token                 client credentials; the token is cached on the Connection
- GET  /v1/reporting/transactions       specs/paypal-reporting-transactions-v1: start_date and
                                        end_date at most 31 days apart, fields=all, page_size
                                        (≤ 500), page (1-based), `total_pages`
PayPal has no payout object. Money stays in the PayPal balance until it is withdrawn to the bank
(event code T0400, usually an automatic daily sweep), so a payout here is one withdrawal, and it
settles the balance-affecting transactions since the withdrawal before it: sales (T0006…),
refunds (T1107), chargebacks (T12xx), fees. Its id is the withdrawal's transaction id.

Amounts are {currency_code, value} with a decimal string (major units), fees negative. The
merchant's order number is `invoice_id` (or `custom_field`). PayPal reports no VAT rates.

Settlement Reports (STL-yyyymmdd.01.009.CSV, one per day, in the account's time zone) are
delivered by PayPal over SFTP, not over this API. `payout_file` reads the day's file from
`reports_url` over HTTPS with the SFTP user's Basic credentials (`sftp_username`,
`sftp_password`): the sandbox serves it so, and production needs an HTTPS mirror of the SFTP
drop (fetching over SFTP itself is not built).

Credentials: client_id, client_secret, optional token_url, reports_url, sftp_username,
sftp_password, report_timezone (default Europe/Stockholm).
"""

from __future__ import annotations

import base64
import datetime
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import requests

from shops.clients.base import ApiClient
from shops.clients.errors import ApiError, NotFound
from shops.clients.types import GatewayPayout, GatewayTransaction

TOKEN_PATH = "/v1/oauth2/token"
SEARCH_PATH = "/v1/reporting/transactions"
WITHDRAWAL = "T0400"
MAX_RANGE = datetime.timedelta(days=31)
ONE_SECOND = datetime.timedelta(seconds=1)


def money(value: dict[str, Any] | None) -> Decimal:
    """PayPal's {currency_code, value} as a Decimal with two decimals, exactly."""
    return Decimal(str((value or {}).get("value") or "0")).quantize(Decimal("0.01"))


def _time(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _info(detail: dict[str, Any]) -> dict[str, Any]:
    return detail.get("transaction_info") or {}


def _when(detail: dict[str, Any]) -> datetime.datetime:
    return _time(str(_info(detail)["transaction_initiation_date"]))


def _opening_balance(detail: dict[str, Any]) -> Decimal | None:
    """The balance just before this transaction, when PayPal gave its ending balance."""
    info = _info(detail)
    if not (info.get("ending_balance") or {}).get("value"):
        return None
    moved = money(info.get("transaction_amount")) + money(info.get("fee_amount"))
    return money(info.get("ending_balance")) - moved


class PaypalClient(ApiClient):
    system = "PayPal"
    PAGE_SIZE = 500  # PayPal's maximum
    # How many 31-day windows to look back for a withdrawal or the one before it (about a year).
    LOOKBACK_WINDOWS = 12

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._want_bytes = False
        self._file_auth: dict[str, str] | None = None
        self._settled: dict[str, list[dict[str, Any]]] = {}

    # --- auth ----------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        if self._file_auth is not None:
            return self._file_auth
        return {"Authorization": f"Bearer {self.cached_access_token()}"}

    def handle_unauthorized(self, rejected_headers: dict[str, str]) -> bool:
        if self._file_auth is not None:
            return False  # wrong SFTP credentials: nothing to refresh
        stale = rejected_headers.get("Authorization", "").removeprefix("Bearer ")
        self.renew_token(stale_token=stale)
        return True

    def fetch_token(self, credentials: dict[str, Any]) -> dict[str, Any]:
        body = self.post_token_request(
            credentials.get("token_url") or f"{self.base_url}{TOKEN_PATH}",
            {"grant_type": "client_credentials"},
            auth=(credentials.get("client_id", ""), credentials.get("client_secret", "")),
        )
        return {
            "access_token": body["access_token"],
            "expires_at": int(time.time()) + int(body.get("expires_in") or 3600),
        }

    def error_details(self, response: requests.Response) -> tuple[str, str]:
        # {name, message, details[{field, value, location, issue, description}]}, or the
        # OAuth form {error, error_description}.
        try:
            body = response.json()
        except ValueError:
            return response.text[:300] or response.reason, ""
        if not isinstance(body, dict):
            return response.text[:300] or response.reason, ""
        if "error" in body:
            return f"{body['error']}: {body.get('error_description', '')}", ""
        details = body.get("details") or []
        issues = "; ".join(
            f"{d.get('field', '')}: {d.get('description') or d.get('issue', '')}" for d in details
        )
        message = f"{body.get('name', '')}: {body.get('message', '')}"
        if issues:
            message += f" ({issues})"
        if body.get("debug_id"):
            message += f" [debug id {body['debug_id']}]"
        field = str(details[0].get("field") or "") if details else ""
        return message, field

    def _decoded(self, response: requests.Response) -> Any:
        return response.content if self._want_bytes else super()._decoded(response)

    # --- Transaction Search --------------------------------------------------------------------

    def search(
        self, start: datetime.datetime, end: datetime.datetime, **filters: str
    ) -> Iterator[dict[str, Any]]:
        """Every transaction detail initiated within [start, end], oldest window first, split
        into the 31-day windows PayPal allows and read page by page."""
        # In UTC: arithmetic on Stockholm wall-clock times would stretch a window over the
        # autumn DST change past the 31 days PayPal allows.
        window_start, end = start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)
        while window_start <= end:
            window_end = min(window_start + MAX_RANGE - ONE_SECOND, end)
            page, pages = 1, 1
            while page <= pages:
                params = {
                    "start_date": _stamp(window_start),
                    "end_date": _stamp(window_end),
                    "fields": "all",
                    "page_size": self.PAGE_SIZE,
                    "page": page,
                    **filters,
                }
                body = self.request("GET", SEARCH_PATH, params=params) or {}
                yield from body.get("transaction_details") or []
                pages = int(body.get("total_pages") or 0)
                page += 1
            window_start = window_end + ONE_SECOND

    # --- payouts -------------------------------------------------------------------------------

    def payouts(
        self, *, date_min: datetime.date | None = None, date_max: datetime.date | None = None
    ) -> Iterator[GatewayPayout]:
        """Withdrawals within the dates (inclusive, the account's time zone; default: the last
        31 days), oldest first."""
        zone = self._zone()
        last = date_max or datetime.datetime.now(zone).date()
        first = date_min or last - datetime.timedelta(days=30)
        start = datetime.datetime.combine(first, datetime.time(), tzinfo=zone)
        end = datetime.datetime.combine(last, datetime.time(23, 59, 59), tzinfo=zone)
        # One read of the period (and a month before it, for the first withdrawal's
        # predecessor), split at each withdrawal, instead of one search per payout.
        details = sorted(self.search(start - MAX_RANGE, end), key=_when)
        pending: list[dict[str, Any]] = []
        known_start = False  # whether `pending` starts at a withdrawal or an empty balance
        for detail in details:
            if _info(detail).get("transaction_event_code") != WITHDRAWAL:
                if not pending and not known_start:
                    known_start = _opening_balance(detail) == 0
                pending.append(detail)
                continue
            if _when(detail) >= start and known_start:
                self._settled[str(_info(detail)["transaction_id"])] = pending
            if _when(detail) >= start:
                yield self._payout(detail)  # finds what it settles itself when not known here
            pending, known_start = [], True

    def payout(self, payout_id: str, *, on: datetime.date | None = None) -> GatewayPayout:
        """One withdrawal. `on` (its date) saves looking for it month by month."""
        return self._payout(self._withdrawal(payout_id, on))

    def payout_transactions(
        self, payout_id: str, *, on: datetime.date | None = None
    ) -> Iterator[GatewayTransaction]:
        """What the withdrawal settles, oldest first; their `net` sums to its amount."""
        if payout_id not in self._settled:
            self._payout(self._withdrawal(payout_id, on))
        for detail in self._settled[payout_id]:
            yield self._transaction(detail, payout_id)

    def payout_file(self, payout_id: str, *, on: datetime.date | None = None) -> tuple[str, bytes]:
        """The Settlement Report (STL) of the withdrawal's day, unchanged. With one automatic
        withdrawal a day, the file holds exactly this payout and what it settles."""
        credentials = self.connection.credentials
        reports_url = str(credentials.get("reports_url") or "").rstrip("/")
        if not reports_url:
            raise ApiError(
                "PayPal delivers settlement reports over SFTP only; this connection has no "
                "reports_url to read them from."
            )
        day = _when(self._withdrawal(payout_id, on)).astimezone(self._zone()).date()
        name = f"STL-{day:%Y%m%d}.01.009.CSV"
        pair = f"{credentials.get('sftp_username', '')}:{credentials.get('sftp_password', '')}"
        self._file_auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        self._want_bytes = True
        try:
            return name, self.request("GET", f"{reports_url}/{name}")
        finally:
            self._file_auth, self._want_bytes = None, False

    # --- helpers -------------------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(
            str(self.connection.credentials.get("report_timezone") or "Europe/Stockholm")
        )

    def _withdrawal(self, payout_id: str, on: datetime.date | None) -> dict[str, Any]:
        """Find a withdrawal by id: around `on` when given, else window by window backwards
        (PayPal wants a date range with every search, and keeps three years)."""
        now = datetime.datetime.now(datetime.UTC)
        if on:
            noon = datetime.datetime.combine(on, datetime.time(12), tzinfo=self._zone())
            windows = [(noon - datetime.timedelta(days=2), noon + datetime.timedelta(days=2))]
        else:
            windows = [
                (now - MAX_RANGE * (i + 1) + ONE_SECOND, now - MAX_RANGE * i)
                for i in range(self.LOOKBACK_WINDOWS)
            ]
        for start, end in windows:
            for detail in self.search(start, end, transaction_id=payout_id):
                if _info(detail).get("transaction_event_code") == WITHDRAWAL:
                    return detail
        raise NotFound(f"PayPal has no withdrawal {payout_id} in the period searched.")

    def _settled_by(self, withdrawal: dict[str, Any]) -> list[dict[str, Any]]:
        """The balance-affecting transactions after the previous withdrawal, up to this one."""
        until, own_id = _when(withdrawal), _info(withdrawal).get("transaction_id")
        end = until
        collected: list[dict[str, Any]] = []
        for _ in range(self.LOOKBACK_WINDOWS):
            start = end - MAX_RANGE + ONE_SECOND
            window = [
                d for d in self.search(start, end) if _info(d).get("transaction_id") != own_id
            ]
            window = [d for d in window if _when(d) <= until]
            collected = window + collected
            earlier = [d for d in collected if _info(d).get("transaction_event_code") == WITHDRAWAL]
            if earlier:
                previous = max(_when(d) for d in earlier)
                return [d for d in collected if _when(d) > previous]
            if collected and _opening_balance(min(collected, key=_when)) == 0:
                return collected  # the balance was empty before these: nothing older is in it
            end = start - ONE_SECOND
        return collected  # no earlier withdrawal within a year: everything since then

    # --- PayPal → dataclasses ------------------------------------------------------------------

    def _payout(self, withdrawal: dict[str, Any]) -> GatewayPayout:
        info = _info(withdrawal)
        payout_id = str(info["transaction_id"])
        if payout_id not in self._settled:
            self._settled[payout_id] = self._settled_by(withdrawal)
        settled = [self._transaction(d, payout_id) for d in self._settled[payout_id]]
        return GatewayPayout(
            payout_id=payout_id,
            status={"S": "paid", "P": "pending", "D": "denied", "V": "reversed"}.get(
                str(info.get("transaction_status")), str(info.get("transaction_status") or "")
            ),
            date=_when(withdrawal).astimezone(self._zone()).date(),
            currency=str((info.get("transaction_amount") or {}).get("currency_code") or "SEK"),
            amount=-money(info.get("transaction_amount")),  # a withdrawal leaves the balance
            gross=sum((t.amount for t in settled), Decimal("0.00")),
            fees=sum((t.fee for t in settled), Decimal("0.00")),
            provider="paypal",
            raw=withdrawal,
        )

    def _transaction(self, detail: dict[str, Any], payout_id: str) -> GatewayTransaction:
        info = _info(detail)
        code = str(info.get("transaction_event_code") or "")
        amount, fee = money(info.get("transaction_amount")), -money(info.get("fee_amount"))
        if code.startswith("T01"):
            # T01xx are PayPal's own fees (chargeback fee, …): a cost, not a buyer's money.
            amount, fee = Decimal("0.00"), fee - amount
        return GatewayTransaction(
            transaction_id=str(info.get("transaction_id") or ""),
            payout_id=payout_id,
            kind=code,
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=str((info.get("transaction_amount") or {}).get("currency_code") or "SEK"),
            order_reference=str(info.get("invoice_id") or info.get("custom_field") or ""),
            source_id=str(info.get("paypal_reference_id") or info.get("transaction_id") or ""),
            source_type=str(info.get("paypal_reference_id_type") or "TXN"),
            processed_at=_when(detail),
            provider="paypal",
            raw=detail,
        )
