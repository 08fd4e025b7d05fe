"""Stripe as the sandbox serves it under /stripe (real: https://api.stripe.com).

- GET  /v1/payouts                       list; limit (1–100), starting_after, ending_before,
                                         arrival_date[gte|gt|lte|lt], status
- GET  /v1/payouts/{id}, /v1/charges/{id}
- GET  /v1/balance_transactions          payout=po_…, type, limit, starting_after,
                                         expand[]=data.source
- POST /v1/reporting/report_runs         report_type=payout_reconciliation.by_id.itemized.4,
                                         parameters[payout], parameters[columns][n]
- GET  /v1/reporting/report_runs/{id}    pending at first, then succeeded with a File whose url
                                         points at /files/v1/files/{id}/contents (files.stripe.com)
Lists are {"object": "list", "url", "has_more", "data"}, newest first, cursor-paginated.
Auth: `Authorization: Bearer sk_…`; one secret key per merchant account. Errors are
{"error": {"type", "code", "message", "param"}}; 429 carries code "rate_limit" and no Retry-After,
as Stripe's does. Amounts are integers in the currency's minor unit; currencies are lower case.
A payout's own balance transaction (type "payout") is listed with the ones it pays out.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from shops.sandbox import gateway_data as data
from shops.sandbox.state import Request, Response, SandboxState, bearer

FEES = data.FeeModel(percent=Decimal("1.5"), fixed=180, dispute_fee=15000)
REPORT_TYPE = "payout_reconciliation.by_id.itemized.4"
DEFAULT_COLUMNS = (
    "balance_transaction_id created_utc created available_on_utc available_on currency gross fee "
    "net reporting_category source_id description customer_facing_amount customer_facing_currency "
    "automatic_payout_id automatic_payout_effective_at_utc automatic_payout_effective_at "
    "customer_id customer_email customer_name customer_description charge_id payment_intent_id "
    "charge_created_utc charge_created invoice_id subscription_id payment_method_type card_brand "
    "card_funding card_country statement_descriptor dispute_reason connected_account_id"
).split()
COMPARISONS = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
_COLUMN = re.compile(r"^parameters\[columns\]\[\d*\]$")

DEMO_CREDENTIALS = {data.KAFFEBONAN: {"secret_key": "sk_test_51KaffebonanDemoKey0000"}}


@dataclasses.dataclass
class Account:
    secret_key: str
    book: data.PayoutBook
    payouts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # newest first
    transactions: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    idempotency: dict[str, str] = dataclasses.field(default_factory=dict)


def error(
    status: int,
    message: str,
    *,
    code: str = "",
    param: str = "",
    kind: str = "invalid_request_error",
    headers: dict | None = None,
) -> Response:
    body: dict[str, Any] = {"message": message, "type": kind}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    return Response(status, {"error": body}, headers or {})


def invalid(param: str, message: str, code: str = "parameter_invalid_integer") -> Response:
    return error(400, message, code=code, param=param)


def missing(kind: str, object_id: str, param: str = "id", status: int = 404) -> Response:
    return error(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _stamp(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


class StripeSandbox(data.GeneratesPayouts):
    name = "stripe"

    @classmethod
    def demo_connection(cls, tenant: str, root: str) -> tuple[str, dict[str, Any]]:
        return f"{root}/stripe", dict(DEMO_CREDENTIALS[tenant])

    def reset(self, state: SandboxState) -> None:
        self.accounts: dict[str, Account] = {}
        self.rate = data.RateLimit(100, 1.0)  # Stripe's live-mode read limit per second
        for tenant, credentials in DEMO_CREDENTIALS.items():
            book = data.PayoutBook("stripe", tenant, FEES, 20001, state.options.seed)
            account = Account(credentials["secret_key"], book)
            self.accounts[tenant] = account
            self._add(account, book.extend(data.DEMO_PAYOUTS, data.DEMO_EVENTS_PER_PAYOUT))

    def is_token_path(self, path: str) -> bool:
        return False

    def snapshot(self) -> dict[str, Any]:
        accounts = {
            tenant: {
                "payouts": len(a.payouts),
                "balance_transactions": sum(len(t) for t in a.transactions.values()),
                "report_runs": len(a.runs),
            }
            for tenant, a in self.accounts.items()
        }
        return {
            "payouts": sum(a["payouts"] for a in accounts.values()),
            "transactions": sum(a["balance_transactions"] for a in accounts.values()),
            "throttled": self.rate.throttled,
            "accounts": accounts,
        }

    def fault_response(self, kind: str, state: SandboxState) -> Response:
        if kind == "429":
            return _too_many()
        if kind == "502":
            return data.bad_gateway()
        return error(500, "An unknown error occurred", kind="api_error")

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request, state: SandboxState) -> Response:
        key = bearer(request)
        with state.lock:
            account = next((a for a in self.accounts.values() if a.secret_key == key), None)
            if account is None:
                message = (
                    f"Invalid API Key provided: {key[:8]}****{key[-4:]}"
                    if key
                    else "You did not provide an API key. You need to provide your API key in the "
                    "Authorization header, using Bearer auth."
                )
                return error(401, message, headers={"WWW-Authenticate": 'Bearer realm="Stripe"'})
            if self.rate.wait(state, (self.name, key)) is not None:
                return _too_many()
            parts = request.path.strip("/").split("/")
            if request.method == "POST" and parts == ["v1", "reporting", "report_runs"]:
                return self._create_run(request, account, state)
            if request.method != "GET":
                return error(404, f"Unrecognized request URL ({request.method}: {request.path}).")
            if parts == ["v1", "payouts"]:
                return self._list_payouts(request, account)
            if parts == ["v1", "balance_transactions"]:
                return self._list_transactions(request, account)
            if len(parts) == 3 and parts[:2] in (["v1", "payouts"], ["v1", "charges"]):
                found = account.objects.get(parts[2])
                if found is None or found["object"] != parts[1][:-1]:
                    return missing(parts[1][:-1], parts[2])
                return Response(200, found)
            if len(parts) == 4 and parts[:3] == ["v1", "reporting", "report_runs"]:
                return self._run(parts[3], account)
            if len(parts) == 5 and parts[:3] == ["files", "v1", "files"] and parts[4] == "contents":
                return self._file(parts[3], account)
            return error(404, f"Unrecognized request URL (GET: {request.path}).")

    def _page(self, request: Request, items: list[dict[str, Any]], url: str, kind: str) -> Response:
        try:
            limit = int(request.query.get("limit") or 10)
        except ValueError:
            return invalid("limit", "Invalid integer: limit")
        if not 1 <= limit <= 100:
            return invalid("limit", "This value must be less than or equal to 100.")
        after, before = request.query.get("starting_after"), request.query.get("ending_before")
        start, end = 0, len(items)
        ids = [item["id"] for item in items]
        for cursor, param in ((after, "starting_after"), (before, "ending_before")):
            if cursor and cursor not in ids:
                return missing(kind, cursor, param, status=400)
        if after:
            start = ids.index(after) + 1
        if before:
            end = ids.index(before)
            start = max(start, end - limit)
        page = items[start : min(end, start + limit)]
        return Response(
            200, {"object": "list", "url": url, "has_more": start + limit < end, "data": page}
        )

    def _list_payouts(self, request: Request, account: Account) -> Response:
        payouts = account.payouts
        for op, compare in COMPARISONS.items():
            value = request.query.get(f"arrival_date[{op}]")
            if value:
                if not value.isdigit():
                    return invalid(f"arrival_date[{op}]", "Invalid integer")
                payouts = [p for p in payouts if compare(p["arrival_date"], int(value))]
        if request.query.get("status"):
            payouts = [p for p in payouts if p["status"] == request.query["status"]]
        return self._page(request, payouts, "/v1/payouts", "payout")

    def _list_transactions(self, request: Request, account: Account) -> Response:
        payout = request.query.get("payout", "")
        if payout and payout not in account.transactions:
            return missing("payout", payout, "payout")
        items = (
            account.transactions[payout]
            if payout
            else [t for p in account.payouts for t in account.transactions[p["id"]]]
        )
        if request.query.get("type"):
            items = [t for t in items if t["type"] == request.query["type"]]
        if request.query.get("expand[]", request.query.get("expand[0]")) == "data.source":
            items = [{**t, "source": account.objects.get(t["source"], t["source"])} for t in items]
        return self._page(request, items, "/v1/balance_transactions", "balance_transaction")

    # --- reconciliation reports -----------------------------------------------------------------

    def _create_run(self, request: Request, account: Account, state: SandboxState) -> Response:
        key = request.header("Idempotency-Key")
        if key and key in account.idempotency:
            return Response(200, _public(account.runs[account.idempotency[key]]))
        fields = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        form = dict(fields)
        columns = [value for name, value in fields if _COLUMN.match(name)]
        if form.get("report_type") != REPORT_TYPE:
            message = f"Invalid report_type: {form.get('report_type')!r}"
            return invalid("report_type", message, "parameter_invalid_string")
        payout = form.get("parameters[payout]", "")
        if payout not in account.transactions:
            return missing("payout", payout, "parameters[payout]", status=400)
        unknown = [
            c for c in columns if c not in DEFAULT_COLUMNS and not c.startswith("payment_metadata[")
        ]
        if unknown:
            message = f"Invalid columns: {', '.join(unknown)}"
            return invalid("parameters[columns]", message, "parameter_invalid_string")
        run_id = "frr_" + data.token("stripe-run", payout, len(account.runs), state.new_id())
        run = {
            "id": run_id,
            "object": "reporting.report_run",
            "created": _stamp(datetime.datetime.now(datetime.UTC)),
            "error": None,
            "livemode": False,
            "parameters": {"payout": payout, **({"columns": columns} if columns else {})},
            "report_type": REPORT_TYPE,
            "result": None,
            "status": "pending",
            "succeeded_at": None,
            "_host": request.header("host"),
        }
        account.runs[run_id] = run
        if key:
            account.idempotency[key] = run_id
        return Response(200, _public(run))

    def _run(self, run_id: str, account: Account) -> Response:
        run = account.runs.get(run_id)
        if run is None:
            return missing("report run", run_id)
        if run["status"] == "pending":
            # Real runs take seconds to minutes; here the first look finds it done.
            content = self._report(
                account,
                run["parameters"]["payout"],
                run["parameters"].get("columns") or DEFAULT_COLUMNS,
            )
            file_id = "file_" + data.token("stripe-file", run_id)
            now = _stamp(datetime.datetime.now(datetime.UTC))
            run["_content"] = content
            run.update(
                status="succeeded",
                succeeded_at=now,
                result={
                    "id": file_id,
                    "object": "file",
                    "created": now,
                    "expires_at": now + 90 * 86400,
                    "filename": f"{file_id}.csv",
                    "purpose": "finance_report_run",
                    "size": len(content.encode()),
                    "title": None,
                    "type": "csv",
                    "url": f"{data.origin(run['_host'])}/stripe/files/v1/files/{file_id}/contents",
                },
            )
        return Response(200, _public(run))

    def _file(self, file_id: str, account: Account) -> Response:
        for run in account.runs.values():
            if run["result"] and run["result"]["id"] == file_id:
                return Response(200, run["_content"], {"Content-Type": "text/csv"})
        return missing("file upload", file_id, "file")

    def _report(self, account: Account, payout_id: str, columns: list[str]) -> str:
        payout = account.objects[payout_id]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        # Itemised: the balance transactions the payout pays out, oldest first, not the payout.
        for bt in reversed(account.transactions[payout_id]):
            if bt["type"] == "payout":
                continue
            writer.writerow([_column(c, bt, account, payout) for c in columns])
        return out.getvalue()

    # --- neutral payouts → Stripe objects -------------------------------------------------------

    def _add(self, account: Account, payouts: list[data.Payout]) -> list[str]:
        ids = []
        for payout in payouts:
            payout_id = "po_" + data.token("stripe-po", payout.key)
            arrival = datetime.datetime.combine(
                payout.payout_date, datetime.time(), tzinfo=datetime.UTC
            )
            bts = [self._event(account, event, payout_id, arrival) for event in payout.events]
            payout_bt = "txn_" + data.token("stripe-txn", payout.key, "payout")
            created = max(e.occurred_at for e in payout.events) + datetime.timedelta(hours=1)
            moment = _stamp(created)
            bts.append(
                _balance_transaction(payout_bt, "payout", "payout", -payout.net, 0, moment, moment)
                | {"description": "STRIPE PAYOUT", "source": payout_id}
            )
            assert -sum(bt["net"] for bt in bts[:-1]) == bts[-1]["net"]
            account.transactions[payout_id] = bts[::-1]
            account.objects[payout_id] = {
                "id": payout_id,
                "object": "payout",
                "amount": payout.net,
                "arrival_date": _stamp(arrival),
                "automatic": True,
                "balance_transaction": payout_bt,
                "created": _stamp(created),
                "currency": "sek",
                "description": "STRIPE PAYOUT",
                "destination": "ba_" + data.token("stripe-ba", account.secret_key),
                "method": "standard",
                "reconciliation_status": "completed",
                "status": "paid",
                "type": "bank_account",
            }
            account.payouts.insert(0, account.objects[payout_id])
            ids.append(payout_id)
        return ids

    def _event(
        self, account: Account, event: data.Event, payout_id: str, arrival: datetime.datetime
    ) -> dict[str, Any]:
        txn = "txn_" + data.token("stripe-txn", event.key)
        charge_id = "ch_" + data.token("stripe-ch", event.original_key or event.key)
        intent = "pi_" + data.token("stripe-pi", event.original_key or event.key)
        metadata = {"order_id": event.order_number}
        # Stripe's balance transaction type and reporting category of each kind of event.
        kind, category = {
            data.SALE: ("charge", "charge"),
            data.REFUND: ("refund", "refund"),
            data.CHARGEBACK: ("adjustment", "dispute"),
        }[event.kind]
        created = _stamp(event.occurred_at)
        if event.kind == data.SALE:
            source, description = charge_id, f"Order {event.order_number}"
            account.objects[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": event.amount,
                "balance_transaction": txn,
                "created": created,
                "currency": "sek",
                "description": description,
                "metadata": metadata,
                "payment_intent": intent,
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "country": "SE", "funding": "debit"},
                },
                "status": "succeeded",
            }
        elif event.kind == data.REFUND:
            source, description = "re_" + data.token("stripe-re", event.key), "REFUND FOR CHARGE"
            account.objects[source] = {
                "id": source,
                "object": "refund",
                "amount": -event.amount,
                "balance_transaction": txn,
                "charge": charge_id,
                "created": created,
                "currency": "sek",
                "metadata": metadata,
                "payment_intent": intent,
                "reason": "requested_by_customer",
                "status": "succeeded",
            }
        else:
            source = "du_" + data.token("stripe-du", event.key)
            description = f"Chargeback withdrawal for {charge_id}"
            account.objects[source] = {
                "id": source,
                "object": "dispute",
                "amount": -event.amount,
                "balance_transactions": [txn],
                "charge": charge_id,
                "created": created,
                "currency": "sek",
                "metadata": {},
                "payment_intent": intent,
                "reason": "fraudulent",
                "status": "lost",
            }
        fee_details = (
            [
                {
                    "amount": event.fee,
                    "application": None,
                    "currency": "sek",
                    "description": "Dispute fee"
                    if event.kind == data.CHARGEBACK
                    else "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if event.fee
            else []
        )
        bt = _balance_transaction(
            txn, kind, category, event.amount, event.fee, created, _stamp(arrival)
        )
        return bt | {"description": description, "fee_details": fee_details, "source": source}


def _balance_transaction(
    txn: str, kind: str, category: str, amount: int, fee: int, created: int, available_on: int
) -> dict[str, Any]:
    return {
        "id": txn,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "created": created,
        "currency": "sek",
        "description": None,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": [],
        "net": amount - fee,
        "reporting_category": category,
        "source": None,
        "status": "available",
        "type": kind,
    }


def _too_many() -> Response:
    return error(
        429,
        "Too many requests hit the API too quickly. We recommend an exponential backoff of your "
        "requests.",
        code="rate_limit",
    )


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _utc(stamp: int) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _local(stamp: int) -> str:
    return datetime.datetime.fromtimestamp(stamp, data.STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")


def _column(name: str, bt: dict[str, Any], account: Account, payout: dict[str, Any]) -> str:
    source = account.objects.get(bt["source"], {})
    charge = account.objects.get(
        source.get("charge", ""), source if source.get("object") == "charge" else {}
    )
    if name.startswith("payment_metadata["):
        return str(charge.get("metadata", {}).get(name[len("payment_metadata[") : -1], ""))
    values: dict[str, Any] = {
        "balance_transaction_id": bt["id"],
        "created_utc": _utc(bt["created"]),
        "created": _local(bt["created"]),
        "available_on_utc": _utc(bt["available_on"]),
        "available_on": _local(bt["available_on"]),
        "currency": bt["currency"],
        "gross": data.major(bt["amount"]),
        "fee": data.major(bt["fee"]),
        "net": data.major(bt["net"]),
        "reporting_category": bt["reporting_category"],
        "source_id": bt["source"],
        "description": bt["description"],
        "customer_facing_amount": data.major(abs(bt["amount"])),
        "customer_facing_currency": bt["currency"],
        "automatic_payout_id": payout["id"],
        "automatic_payout_effective_at_utc": _utc(payout["arrival_date"]),
        "automatic_payout_effective_at": _local(payout["arrival_date"]),
        "charge_id": charge.get("id", ""),
        "payment_intent_id": charge.get("payment_intent", ""),
        "charge_created_utc": _utc(charge["created"]) if charge else "",
        "charge_created": _local(charge["created"]) if charge else "",
        "payment_method_type": "card" if charge else "",
        "card_brand": "visa" if charge else "",
        "card_funding": "debit" if charge else "",
        "card_country": "SE" if charge else "",
        "dispute_reason": source.get("reason", "") if source.get("object") == "dispute" else "",
    }
    return str(values.get(name, ""))
