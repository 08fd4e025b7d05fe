"""PayPal as the sandbox serves it under /paypal (real: https://api-m.paypal.com).

- POST /v1/oauth2/token                 client credentials (HTTP Basic client_id:secret)
- GET  /v1/reporting/transactions       Transaction Search, as specs/paypal-reporting-
                                        transactions-v1: start_date, end_date (≤ 31 days apart),
                                        transaction_id, transaction_type, fields, page_size (≤ 500),
                                        page (1-based); `transaction_details[]`, `total_items`,
                                        `total_pages`, `page`, `links`
- GET  /ppreports/outgoing/             the merchant's settlement report files (a listing)
- GET  /ppreports/outgoing/STL-yyyymmdd.01.009.CSV    one day's Settlement Report (STL)
PayPal delivers STL files over SFTP (reports.paypal.com, /ppreports/outgoing); the sandbox serves
the same files over HTTP with Basic auth as the SFTP user, which is what the client reads.

Money in the JSON API is {currency_code, value} with a decimal string; fees are negative. In the
STL file amounts are unsigned minor units with a CR/DR column. Errors: {name, message, debug_id,
details[{field, value, location, issue}], links}; OAuth errors: {error, error_description}.

The demo account sweeps its balance to the bank every evening (a T0400 withdrawal), so one STL
day file holds exactly one payout: the day's sales (T0006), refunds (T1107), chargebacks (T1201)
and the withdrawal that pays them out.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import math
import time
import unicodedata
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from shops.sandbox import gateway_data as data
from shops.sandbox.state import (
    Request,
    Response,
    SandboxState,
    bearer,
    mint_token,
    parse_datetime,
    read_token,
)

TOKEN_PATH = "/v1/oauth2/token"
SEARCH_PATH = "/v1/reporting/transactions"
REPORTS_PATH = "/ppreports/outgoing"
TOKEN_LIFETIME = 32400
MAX_RANGE = datetime.timedelta(days=31)
FEES = data.FeeModel(percent=Decimal("3.4"), fixed=325, dispute_fee=17500)
CODES = {data.SALE: "T0006", data.REFUND: "T1107", data.CHARGEBACK: "T1201"}
WITHDRAWAL = "T0400"
ERRORS_URL = "https://developer.paypal.com/docs/api/v1/errors/"
BAD_REQUEST = "Request is not well-formed, syntactically incorrect, or violates schema."
STL_COLUMNS = (
    "Transaction ID",
    "Invoice ID",
    "PayPal Reference ID",
    "PayPal Reference ID Type",
    "Transaction Event Code",
    "Transaction Initiation Date",
    "Transaction Completion Date",
    # Two spaces: PayPal's own header has them.
    "Transaction  Debit or Credit",
    "Gross Transaction Amount",
    "Gross Transaction Currency",
    "Fee Debit or Credit",
    "Fee Amount",
    "Fee Currency",
    "Custom Field",
    "Consumer ID",
    "Payment Tracking ID",
    "Store ID",
    "Bank Reference ID",
    "Credit Transactional Fee",
    "Credit Promotional Fee",
    "Credit Term",
)

DEMO_CREDENTIALS = {
    data.KAFFEBONAN: {
        "client_id": "AKaffebonanDemoClientId0001",
        "client_secret": "demo-kaffebonan-paypal-secret",
        "sftp_username": "kaffebonan_api1",
        "sftp_password": "demo-kaffebonan-sftp-secret",
    }
}


@dataclasses.dataclass
class Account:
    tenant: str
    account_number: str
    credentials: dict[str, str]
    book: data.PayoutBook
    details: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # oldest first
    times: list[datetime.datetime] = dataclasses.field(default_factory=list)  # of the details
    days: dict[datetime.date, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    balance: int = 0
    token_requests: int = 0


def error(
    status: int,
    name: str,
    message: str,
    details: list[dict] | None = None,
    headers: dict | None = None,
) -> Response:
    debug_id = uuid.uuid4().hex[:13]
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": debug_id}
    if details:
        body["details"] = details
    body["links"] = [{"href": f"{ERRORS_URL}#{name}", "rel": "information_link"}]
    return Response(status, body, headers or {})


def bad_request(field: str, value: str, issue: str) -> Response:
    return error(
        400,
        "INVALID_REQUEST",
        BAD_REQUEST,
        [{"field": field, "value": value, "location": "query", "issue": issue}],
    )


def too_many() -> Response:
    return error(429, "RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting.")


def oauth_error(status: int, code: str, description: str) -> Response:
    return Response(status, {"error": code, "error_description": description})


def money(amount: int) -> dict[str, str]:
    return {"currency_code": "SEK", "value": data.major(amount)}


class PaypalSandbox(data.GeneratesPayouts):
    name = "paypal"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        base = f"{root}/paypal"
        return base, {
            **DEMO_CREDENTIALS[tenant],
            "token_url": f"{base}{TOKEN_PATH}",
            "reports_url": f"{base}{REPORTS_PATH}",
        }

    def reset(self, state: SandboxState) -> None:
        self.accounts: dict[str, Account] = {}
        self.rate = data.RateLimit(50, 1.0)
        for tenant, credentials in DEMO_CREDENTIALS.items():
            number = data.token(
                "paypal-account", tenant, length=13, alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
            )
            book = data.PayoutBook("paypal", tenant, FEES, 30001, state.options.seed)
            account = Account(tenant, number, credentials, book)
            self.accounts[tenant] = account
            self._add(account, book.extend(data.DEMO_PAYOUTS, data.DEMO_EVENTS_PER_PAYOUT))

    def is_token_path(self, path: str) -> bool:
        return path.rstrip("/") == TOKEN_PATH

    def snapshot(self) -> dict[str, Any]:
        accounts = {
            tenant: {
                "account_number": a.account_number,
                "payouts": sum(1 for d in a.details if _code(d) == WITHDRAWAL),
                "transactions": sum(1 for d in a.details if _code(d) != WITHDRAWAL),
                "report_files": len(a.days),
                "token_requests": a.token_requests,
            }
            for tenant, a in self.accounts.items()
        }
        return {
            "payouts": sum(a["payouts"] for a in accounts.values()),
            "transactions": sum(a["transactions"] for a in accounts.values()),
            "token_requests": sum(a["token_requests"] for a in accounts.values()),
            "throttled": self.rate.throttled,
            "accounts": accounts,
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return too_many()
        if kind == "502":
            return data.bad_gateway()
        return error(500, "INTERNAL_SERVER_ERROR", "An internal server error occurred.")

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        path = request.path.rstrip("/")
        with state.lock:
            if path == TOKEN_PATH:
                return self._token(request, state)
            if path.startswith(REPORTS_PATH):
                return self._reports(request, path.removeprefix(REPORTS_PATH).strip("/"))
            claims = read_token(bearer(request), "paypal-access")
            account = self.accounts.get(claims["tenant"]) if claims else None
            if account is None:
                return oauth_error(401, "invalid_token", "Token signature verification failed")
            if self.rate.wait(state, (self.name, account.tenant)) is not None:
                return too_many()
            if request.method == "GET" and path == SEARCH_PATH:
                return self._search(request, account)
            return error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")

    def _token(self, request: Request, state: SandboxState) -> Response:
        client_id, secret = data.basic_auth(request)
        account = next(
            (a for a in self.accounts.values() if a.credentials["client_id"] == client_id), None
        )
        if (
            request.method != "POST"
            or account is None
            or account.credentials["client_secret"] != secret
        ):
            return oauth_error(401, "invalid_client", "Client Authentication failed")
        if request.form().get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "Grant Type is NULL")
        account.token_requests += 1
        token = mint_token(
            "paypal-access",
            tenant=account.tenant,
            jti=state.new_id(),
            exp=int(time.time()) + TOKEN_LIFETIME,
        )
        return Response(
            200,
            {
                "scope": "https://uri.paypal.com/services/reporting/search/read",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": TOKEN_LIFETIME,
                "nonce": data.iso_utc(datetime.datetime.now(datetime.UTC)) + uuid.uuid4().hex[:12],
            },
        )

    def _search(self, request: Request, account: Account) -> Response:
        query = request.query
        bounds = []
        for name in ("start_date", "end_date"):
            value = query.get(name, "")
            if not value:
                return bad_request(name, "", "MISSING_REQUIRED_PARAMETER")
            try:
                bounds.append(parse_datetime(value))
            except ValueError:
                return bad_request(name, value, "INVALID_PARAMETER_SYNTAX")
            if "T" not in value or len(value) < 20:
                return bad_request(name, value, "INVALID_PARAMETER_SYNTAX")
        start, end = bounds
        if end < start:
            return bad_request("end_date", query["end_date"], "end_date must be after start_date")
        if end - start > MAX_RANGE:
            return bad_request(
                "start_date", query["start_date"], "Date range is greater than 31 days"
            )
        try:
            size = int(query.get("page_size") or 100)
            page = int(query.get("page") or 1)
        except ValueError:
            return bad_request("page_size", query.get("page_size", ""), "INVALID_PARAMETER_SYNTAX")
        if not 1 <= size <= 500:
            return bad_request("page_size", str(size), "page_size must be between 1 and 500")
        if page < 1:
            return bad_request("page", str(page), "page must be 1 or greater")
        # Details are kept in time order: bisect, so generated volume stays quick to search.
        window = account.details[
            bisect.bisect_left(account.times, start) : bisect.bisect_right(account.times, end)
        ]
        found = [
            d
            for d in window
            if query.get("transaction_id", _txn(d)) == _txn(d)
            and query.get("transaction_type", _code(d)) == _code(d)
        ]
        fields = query.get("fields") or "transaction_info"
        if fields != "all":
            wanted = {f.strip() for f in fields.split(",")} | {"transaction_info"}
            found = [{k: v for k, v in d.items() if k in wanted} for d in found]
        pages = math.ceil(len(found) / size)
        link = f"{data.origin(request.header('host'))}/paypal{SEARCH_PATH}?" + urlencode(
            {k: v for k, v in query.items() if k != "page"}
        )
        links = [{"href": f"{link}&page={page}", "rel": "self", "method": "GET"}]
        if page < pages:
            links.append({"href": f"{link}&page={page + 1}", "rel": "next", "method": "GET"})
        if pages:
            links.append({"href": f"{link}&page={pages}", "rel": "last", "method": "GET"})
        return Response(
            200,
            {
                "transaction_details": found[(page - 1) * size : page * size],
                "account_number": account.account_number,
                "start_date": query["start_date"],
                "end_date": query["end_date"],
                "last_refreshed_datetime": data.iso_utc(datetime.datetime.now(datetime.UTC)),
                "page": page,
                "total_items": len(found),
                "total_pages": pages,
                "links": links,
            },
        )

    def _reports(self, request: Request, name: str) -> Response:
        username, password = data.basic_auth(request)
        account = next(
            (a for a in self.accounts.values() if a.credentials["sftp_username"] == username), None
        )
        if account is None or account.credentials["sftp_password"] != password:
            return Response(
                401, "Permission denied", {"WWW-Authenticate": 'Basic realm="ppreports"'}
            )
        if not name:
            return Response(200, sorted(_filename(day) for day in account.days))
        day = next((d for d in account.days if _filename(d) == name), None)
        if day is None:
            return Response(404, "No such file", {"Content-Type": "text/plain"})
        return Response(200, render_stl(account, day), {"Content-Type": "text/csv; charset=utf-8"})

    # --- neutral payouts → PayPal transactions ---------------------------------------------------

    def _add(self, account: Account, payouts: list[data.Payout]) -> list[str]:
        references = []
        for payout in payouts:
            rows = [self._detail(account, e.key, e, CODES[e.kind]) for e in payout.events]
            # The evening sweep: everything the day brought goes to the bank.
            swept = datetime.datetime.combine(
                payout.sales_day, datetime.time(22, 30), tzinfo=data.STOCKHOLM
            )
            withdrawal = data.Event(
                "withdrawal",
                f"{payout.key}/withdrawal",
                "",
                swept.astimezone(datetime.UTC),
                -payout.net,
                0,
            )
            rows.append(self._detail(account, withdrawal.key, withdrawal, WITHDRAWAL))
            assert account.balance == 0, "the sweep leaves nothing behind"
            account.details.extend(rows)
            account.times.extend(
                parse_datetime(r["transaction_info"]["transaction_initiation_date"]) for r in rows
            )
            account.days[payout.sales_day] = rows
            references.append(_txn(rows[-1]))
        return references

    def _detail(self, account: Account, key: str, event: data.Event, code: str) -> dict[str, Any]:
        account.balance += event.net
        info: dict[str, Any] = {
            "paypal_account_id": account.account_number
            if code == WITHDRAWAL
            else _id("payer", key, 13),
            "transaction_id": _id("txn", key, 17),
            "transaction_event_code": code,
            "transaction_initiation_date": data.iso_utc(event.occurred_at),
            "transaction_updated_date": data.iso_utc(event.occurred_at),
            "transaction_amount": money(event.amount),
            "fee_amount": money(-event.fee),
            "transaction_status": "S",
            "ending_balance": money(account.balance),
            "available_balance": money(account.balance),
            "protection_eligibility": "01" if code == "T0006" else "02",
        }
        if code == WITHDRAWAL:
            info["transaction_subject"] = "Withdrawal to bank account"
            return {"transaction_info": info}
        info.update(
            invoice_id=event.order_number,
            custom_field=event.order_number,
            transaction_subject=f"Order {event.order_number}",
        )
        if event.original_key:
            info.update(
                paypal_reference_id=_id("txn", event.original_key, 17),
                paypal_reference_id_type="TXN",
            )
        given, surname = (
            ("Elsa", "Nystrom") if int(_id("who", key, 2, "0123456789")) % 2 else ("Oskar", "Berg")
        )
        return {
            "transaction_info": info,
            "payer_info": {
                "account_id": _id("payer", event.original_key or key, 13),
                "email_address": f"{given.lower()}.{_id('mail', key, 4).lower()}@example.se",
                "address_status": "Y",
                "payer_status": "Y",
                "payer_name": {
                    "given_name": given,
                    "surname": surname,
                    "alternate_full_name": f"{given} {surname}",
                },
                "country_code": "SE",
            },
            # PayPal reports no VAT rates: the items come without them.
            "cart_info": {
                "item_details": [
                    {
                        "item_name": _ascii(line.description),
                        "item_quantity": str(line.quantity),
                        "item_unit_price": money(line.unit_price),
                        "item_amount": money(line.amount),
                        "total_item_amount": money(line.amount),
                    }
                    for line in event.lines
                ],
                "tax_inclusive": True,
            },
            "store_info": {},
            "auction_info": {},
            "incentive_info": {},
        }


def _id(
    kind: str, key: str, length: int, alphabet: str = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
) -> str:
    return data.token("paypal", kind, key, length=length, alphabet=alphabet)


def _ascii(text: str) -> str:
    """The spec's patterns allow only ASCII in names: "Espressobönor" becomes "Espressobonor"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _txn(detail: dict[str, Any]) -> str:
    return detail["transaction_info"]["transaction_id"]


def _code(detail: dict[str, Any]) -> str:
    return detail["transaction_info"]["transaction_event_code"]


def _filename(day: datetime.date) -> str:
    return f"STL-{day:%Y%m%d}.01.009.CSV"


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(data.STOCKHOLM).strftime("%Y/%m/%d %H:%M:%S %z")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _direction(amount: int) -> str:
    return '"CR"' if amount >= 0 else '"DR"'


def _minor(money_value: dict[str, str]) -> int:
    return int(Decimal(money_value["value"]) * 100)


def render_stl(account: Account, day: datetime.date) -> str:
    """One day's Settlement Report: RH, FH, SH, CH, SB…, SF, SC, RF, RC, FF. Strings are quoted,
    numbers and times are not; amounts are unsigned minor units beside a CR/DR column."""
    rows = account.days[day]
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=data.STOCKHOLM)
    end = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=data.STOCKHOLM)
    number = _quoted(account.account_number)
    lines = [
        f'"RH",{_stamp(end + datetime.timedelta(hours=3, seconds=1))},"A",{number},009,',
        '"FH",01',
        f'"SH",{_stamp(start)},{_stamp(end)},{number},""',
        '"CH",' + ",".join(_quoted(c) for c in STL_COLUMNS),
    ]
    totals = {"gross_cr": 0, "gross_dr": 0, "fee_cr": 0, "fee_dr": 0}
    for detail in rows:
        info = detail["transaction_info"]
        gross, fee = _minor(info["transaction_amount"]), -_minor(info["fee_amount"])
        totals["gross_cr" if gross >= 0 else "gross_dr"] += abs(gross)
        if fee:
            totals["fee_dr" if fee > 0 else "fee_cr"] += abs(fee)
        moment = _stamp(parse_datetime(info["transaction_initiation_date"]))
        payer = detail.get("payer_info", {}).get("email_address", "")
        fields = [
            _quoted(info["transaction_id"]),
            _quoted(info.get("invoice_id", "")),
            _quoted(info.get("paypal_reference_id", "")),
            _quoted(info.get("paypal_reference_id_type", "")),
            _quoted(info["transaction_event_code"]),
            moment,
            moment,
            _quoted("CR" if gross >= 0 else "DR"),
            str(abs(gross)),
            _quoted("SEK"),
            _quoted("DR" if fee >= 0 else "CR") if fee else '""',
            str(abs(fee)) if fee else "",
            _quoted("SEK") if fee else '""',
            _quoted(info.get("custom_field", "")),
            _quoted(payer),
            '""',
            '""',
            '""',
            "",
            "",
            "",
        ]
        lines.append('"SB",' + ",".join(fields))
    amounts = (
        f'"SEK",{totals["gross_cr"]},{totals["gross_dr"]},{totals["fee_cr"]},{totals["fee_dr"]}'
    )
    closing = _minor(rows[-1]["transaction_info"]["ending_balance"])
    opening = closing - sum(
        _minor(d["transaction_info"]["transaction_amount"])
        + _minor(d["transaction_info"]["fee_amount"])
        for d in rows
    )
    lines += [
        f'"SF",{amounts}',
        f'"SC",{len(rows)}',
        f'"RF",{amounts},{_direction(opening)},{abs(opening)},{_direction(closing)},{abs(closing)}',
        f'"RC",{len(rows)}',
        f'"FF",{len(rows)}',
    ]
    return "\r\n".join(lines) + "\r\n"
