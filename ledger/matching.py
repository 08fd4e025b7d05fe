"""Matching payout lines to orders (customer-ledger items).

- Basic/Pay integrations: a line pays an order the webshop integration already transferred. The
  order is found through the integration's links (entity "order", natural key
  `WEB-<shop id>-<order number>`; Shopify Payments names Shopify's internal order id, which is
  the link's source id). An order that was not transferred, or is still being transferred, or
  whose number exists in two shops, leaves the line unmatched with that reason.
- Plus integrations: there is no webshop; every order in the payouts becomes its own
  customer-ledger item (a sale without an order number becomes one by its transaction id).
  Refunds and chargebacks must follow a sale of the same order, and never exceed it.

Several captures of one order pay the same item; a refund without an order number inherits the
order of the transaction it refunds; one payment naming several orders ("1001, 1002") pays each
of them, split by their remaining amounts when booked (Basic only: Plus has no invoice to split
against). Currency is checked per order. Lines that move no order's money (fees, reserves,
transfers) need no order. A person's decision (a line handled by hand) is never overwritten, and
a booked payment is never matched again.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from integrator.models import Integration, Link
from ledger.bulk import Inserter
from ledger.models import Allocation, LedgerItem, Payout, PayoutLine

ZERO = Decimal("0.00")
CHUNK = 900  # SQLite's old limit on variables per statement, comfortably under the new one
LINES_PER_CHUNK = 5000
REF_SPLIT = re.compile(r"\s*[,;+&]\s*")
WEB_KEY = re.compile(r"^WEB-(\d+)-(.+)$")
PAID = (PayoutLine.Type.SALE, PayoutLine.Type.DISPUTE_REVERSAL)
TAKEN_BACK = (PayoutLine.Type.REFUND, PayoutLine.Type.CHARGEBACK)
LINE_FIELDS = (
    "id",
    "type",
    "order_reference",
    "source_order_id",
    "related_transaction_id",
    "transaction_id",
    "currency",
    "gross",
    "match",
)


def item_inserter() -> Inserter:  # built per call: the database connection may differ
    return Inserter(
        LedgerItem,
        (
            "connection",
            "order_reference",
            "natural_key",
            "kind",
            "link",
            "currency",
            "state",
            "remote_id",
            "created_at",
        ),
    )


class Wanted(NamedTuple):
    """A customer-ledger item the matched lines need (created if it does not exist yet)."""

    order_reference: str
    natural_key: str
    kind: str
    link_id: int | None
    currency: str


class Known(NamedTuple):
    pk: int
    currency: str


@dataclass
class MatchOutcome:
    matched: int = 0
    unmatched: int = 0
    handled: int = 0
    not_needed: int = 0


@dataclass
class Decision:
    line: dict[str, Any]
    match: str
    note: str | None = None  # None: keep the note the line has
    orders: list[str] = field(default_factory=list)
    resolved_reference: str = ""


def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def gateway_integration(connection) -> Integration | None:
    return (
        Integration.objects.filter(
            gateway=connection,
            flow__in=[Integration.Flow.GATEWAY_PLUS, Integration.Flow.GATEWAY_BASIC],
        )
        .order_by("-enabled", "pk")
        .first()
    )


PLUS_PREFIXES = {"shopify_payments": "SHOPPAY"}


def plus_key(connection, reference: str) -> str:
    """YourReference of a Plus invoice: gateway, connection and order, within Visma's 50
    characters (a longer order reference is shortened to a stable hash of it)."""
    prefix = (
        f"{PLUS_PREFIXES.get(connection.platform, connection.platform.upper())}-{connection.pk}-"
    )
    if len(prefix + reference) > 50:
        reference = hashlib.sha1(reference.encode()).hexdigest()[:16]
    return prefix + reference


class _Orders:
    """The orders the webshop integration transferred, by order number and by the shop's id."""

    def __init__(self, customer_id: int) -> None:
        self.by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_source_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        links = Link.objects.filter(integration__customer_id=customer_id, entity="order").values(
            "id", "natural_key", "source_id", "state", "source_connection__platform"
        )
        for link in links.iterator(chunk_size=5000):
            found = WEB_KEY.match(link["natural_key"])
            if found:
                link["number"] = found.group(2)
                self.by_number[link["number"]].append(link)
            if link["source_connection__platform"] == "shopify":
                link.setdefault("number", link["natural_key"])
                self.by_source_id[link["source_id"]].append(link)

    def find(self, *, number: str = "", source_id: str = "") -> tuple[dict[str, Any] | None, str]:
        candidates = self.by_source_id.get(source_id, []) if source_id else []
        if not candidates and number:
            candidates = self.by_number.get(number, [])
        what = number or source_id
        if not candidates:
            return None, _("Order %(order)s was not transferred by the webshop integration.") % {
                "order": what
            }
        if len({(c["natural_key"]) for c in candidates}) > 1:
            return None, _("Order number %(order)s exists in several shops.") % {"order": what}
        link = candidates[0]
        if link["state"] != Link.State.DONE:
            return None, _(
                "Order %(order)s is still being transferred to the accounting system."
            ) % {"order": what}
        return link, ""


def match_payout(payout: Payout) -> MatchOutcome:
    with transaction.atomic():
        return _Matcher(payout).run()


class _Matcher:
    def __init__(self, payout: Payout) -> None:
        self.payout = payout
        self.connection = payout.connection
        self.integration = gateway_integration(self.connection)
        self.plus = bool(
            self.integration and self.integration.flow == Integration.Flow.GATEWAY_PLUS
        )
        self.items: dict[str, Known] = {}
        self.wanted: dict[str, Wanted] = {}

    def run(self) -> MatchOutcome:
        # Pending payments are decided again; handled lines have none, booked ones stay.
        Allocation.objects.filter(line__payout=self.payout, state=LedgerItem.State.PENDING).delete()
        orders = (
            None if self.plus or self.integration is None else _Orders(self.connection.customer_id)
        )
        # What pays comes before what takes back, so a refund sees every sale of its order, and
        # lines are read a chunk at a time, so a 100,000-line payout never sits in memory.
        for phase in (~Q(type__in=TAKEN_BACK), Q(type__in=TAKEN_BACK)):
            for lines in self._open_lines(phase):
                self._inherit_orders(lines)
                decisions = [self._decide(line, orders) for line in lines]
                self._load_items()
                self._check_currency(decisions)
                if self.plus:
                    self._check_refunds(decisions)
                self._write(decisions)
                self.items.clear()
                self.wanted.clear()
        return self._finish()

    def _open_lines(self, phase: Q) -> Iterator[list[dict[str, Any]]]:
        booked = Allocation.objects.filter(
            line__payout=self.payout, state=LedgerItem.State.BOOKED
        ).values_list("line_id", flat=True)
        lines = (
            self.payout.lines.filter(phase)
            .exclude(match=PayoutLine.Match.HANDLED)
            .exclude(pk__in=booked)
            .order_by("line_no")
        )
        after = 0
        while True:
            batch = list(
                lines.filter(line_no__gt=after).values(*LINE_FIELDS, "line_no")[:LINES_PER_CHUNK]
            )
            if not batch:
                return
            yield batch
            after = batch[-1]["line_no"]

    def _inherit_orders(self, lines: list[dict[str, Any]]) -> None:
        """A refund that names no order refunds the order of the transaction it points at."""
        wanted = {
            line["related_transaction_id"]
            for line in lines
            if line["type"] in PayoutLine.ORDER_TYPES
            and line["related_transaction_id"]
            and not line["order_reference"]
            and not line["source_order_id"]
        }
        known: dict[str, tuple[str, str]] = {}
        for part in chunks(sorted(wanted)):
            rows = PayoutLine.objects.filter(
                payout__connection=self.connection, transaction_id__in=part
            ).exclude(order_reference="", source_order_id="")
            for tid, ref, source in rows.values_list(
                "transaction_id", "order_reference", "source_order_id"
            ):
                known[tid] = (ref, source)
        for line in lines:
            found = (
                known.get(line["related_transaction_id"])
                if line["related_transaction_id"]
                else None
            )
            if found and not line["order_reference"] and not line["source_order_id"]:
                line["order_reference"], line["source_order_id"] = found
                line["inherited"] = True

    def _decide(self, line: dict[str, Any], orders: _Orders | None) -> Decision:
        if line["type"] not in PayoutLine.ORDER_TYPES:
            return Decision(line, PayoutLine.Match.NOT_NEEDED)
        if self.integration is None:
            return Decision(
                line,
                PayoutLine.Match.UNMATCHED,
                _(
                    "No Plus or Basic/Pay integration uses this gateway, so there is no order "
                    "to pay."
                ),
            )
        references = [r for r in REF_SPLIT.split(line["order_reference"]) if r]
        if self.plus:
            return self._decide_plus(line, references)
        assert orders is not None
        if not references and line["source_order_id"]:
            link, reason = orders.find(source_id=line["source_order_id"])
            return self._linked(line, [(link, reason)])
        if not references:
            return Decision(line, PayoutLine.Match.UNMATCHED, _("The gateway names no order."))
        return self._linked(line, [orders.find(number=r) for r in references])

    def _linked(self, line, found: list[tuple[dict[str, Any] | None, str]]) -> Decision:
        reasons = [reason for link, reason in found if link is None]
        if reasons:
            return Decision(line, PayoutLine.Match.UNMATCHED, " ".join(reasons))
        numbers = []
        for link, _reason in found:
            assert link is not None
            number = link["number"]
            numbers.append(number)
            if number not in self.wanted:
                self.wanted[number] = Wanted(
                    number[:100],
                    link["natural_key"],
                    LedgerItem.Kind.EXISTING_INVOICE,
                    link["id"],
                    line["currency"],
                )
        note = (
            _("One payment for orders %(orders)s: split by the invoices' remaining amounts.")
            % {"orders": ", ".join(numbers)}
            if len(numbers) > 1
            else ""
        )
        resolved = (
            ", ".join(numbers) if not line["order_reference"] or line.get("inherited") else ""
        )
        return Decision(line, PayoutLine.Match.MATCHED, note, numbers, resolved)

    def _decide_plus(self, line: dict[str, Any], references: list[str]) -> Decision:
        if len(references) > 1:
            return Decision(
                line,
                PayoutLine.Match.UNMATCHED,
                _(
                    "One payment covers several orders (%(orders)s); a Plus integration needs one "
                    "amount per order."
                )
                % {"orders": ", ".join(references)},
            )
        reference = references[0] if references else line["source_order_id"]
        if not reference and line["type"] == PayoutLine.Type.SALE:
            reference = line["transaction_id"] or f"LINE-{line['id']}"
        if not reference:
            return Decision(
                line,
                PayoutLine.Match.UNMATCHED,
                _("The %(type)s names no order and no sale it belongs to.")
                % {"type": PayoutLine.Type(line["type"]).label.lower()},
            )
        if reference not in self.wanted:
            self.wanted[reference] = Wanted(
                reference[:100],
                plus_key(self.connection, reference),
                LedgerItem.Kind.NEW_INVOICE,
                None,
                line["currency"],
            )
        resolved = reference if line.get("inherited") else ""
        return Decision(line, PayoutLine.Match.MATCHED, "", [reference], resolved)

    def _load_items(self) -> None:
        keys = sorted(self.wanted)
        self._fetch_items(keys)
        missing = [self.wanted[k] for k in keys if k not in self.items]
        if missing:
            now = timezone.now()
            item_inserter().insert(
                (
                    self.connection.pk,
                    m.order_reference,
                    m.natural_key,
                    m.kind,
                    m.link_id,
                    m.currency,
                    LedgerItem.State.PENDING,
                    "",
                    now,
                )
                for m in missing
            )
            self._fetch_items([m.order_reference for m in missing])

    def _fetch_items(self, keys: list[str]) -> None:
        for part in chunks(keys):
            rows = LedgerItem.objects.filter(
                connection=self.connection, order_reference__in=part
            ).values_list("order_reference", "pk", "currency")
            for reference, pk, currency in rows:
                self.items[reference] = Known(pk, currency)

    def _check_currency(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            for order in decision.orders:
                item = self.items[order]
                if item.currency != decision.line["currency"]:
                    self._unmatch(
                        decision,
                        _("Order %(order)s is in %(order_currency)s; this line is in %(currency)s.")
                        % {
                            "order": order,
                            "order_currency": item.currency,
                            "currency": decision.line["currency"],
                        },
                    )

    def _check_refunds(self, decisions: list[Decision]) -> None:
        """Plus: what is refunded or charged back must have been paid, per order. The sales of
        this payout are written already (they come first), and so are earlier refunds."""
        touched = {d.orders[0] for d in decisions if d.orders and d.line["type"] in TAKEN_BACK}
        if not touched:
            return
        balance: dict[str, Decimal] = defaultdict(lambda: ZERO)
        items = {self.items[o].pk: o for o in touched}
        for part in chunks(list(items)):
            sums = (
                Allocation.objects.filter(item_id__in=part, amount__isnull=False)
                .values("item_id")
                .annotate(total=Sum("amount"))
            )
            for row in sums:
                balance[items[row["item_id"]]] += (row["total"] or ZERO).quantize(ZERO)
        for decision in decisions:
            if not decision.orders or decision.line["type"] not in TAKEN_BACK:
                continue
            order = decision.orders[0]
            after = balance[order] + decision.line["gross"]
            if after < 0:
                paid = balance[order]
                reason = (
                    _("No sale of order %(order)s has come from this gateway; nothing to credit.")
                    if paid <= 0
                    else _("Refunds of order %(order)s (%(back)s) exceed what was paid (%(paid)s).")
                )
                self._unmatch(
                    decision,
                    reason % {"order": order, "back": -decision.line["gross"], "paid": paid},
                )
                continue
            balance[order] = after

    def _unmatch(self, decision: Decision, reason: str) -> None:
        decision.match, decision.note, decision.orders = PayoutLine.Match.UNMATCHED, reason, []

    def _write(self, decisions: Iterable[Decision]) -> None:
        groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        allocations, resolved = [], []
        for decision in decisions:
            line = decision.line
            groups[(decision.match, decision.note)].append(line["id"])
            single = len(decision.orders) == 1
            for order in decision.orders:
                allocations.append(
                    (
                        line["id"],
                        self.items[order].pk,
                        line["gross"] if single else None,
                        LedgerItem.State.PENDING,
                        "",
                    )
                )
            if decision.resolved_reference:
                resolved.append(
                    PayoutLine(id=line["id"], order_reference=decision.resolved_reference[:100])
                )
        for (match, note), ids in groups.items():
            changes: dict[str, Any] = {"match": match}
            if note is not None:
                changes["match_note"] = note[:500]
            for part in chunks(ids):
                PayoutLine.objects.filter(pk__in=part).update(**changes)
        Inserter(Allocation, ("line", "item", "amount", "state", "remote_id")).insert(allocations)
        if resolved:
            PayoutLine.objects.bulk_update(resolved, ["order_reference"], batch_size=CHUNK)

    def _finish(self) -> MatchOutcome:
        counts = dict(
            self.payout.lines.order_by()
            .values("match")
            .annotate(n=Count("pk"))
            .values_list("match", "n")
        )
        outcome = MatchOutcome(
            matched=counts.get(PayoutLine.Match.MATCHED, 0),
            unmatched=counts.get(PayoutLine.Match.UNMATCHED, 0),
            handled=counts.get(PayoutLine.Match.HANDLED, 0),
            not_needed=counts.get(PayoutLine.Match.NOT_NEEDED, 0),
        )
        settle_status(self.payout, unmatched=outcome.unmatched)
        return outcome


def settle_status(payout: Payout, *, unmatched: int | None = None) -> None:
    """Discrepancy before review before matched; a booked payout stays booked."""
    if payout.status == Payout.Status.BOOKED:
        return
    if unmatched is None:
        unmatched = payout.lines.filter(match=PayoutLine.Match.UNMATCHED).count()
    difference = payout.discrepancy()
    if difference:
        payout.status = Payout.Status.DISCREPANCY
        payout.note = _(
            "The lines add up to %(lines)s, the gateway says it paid %(net)s: %(difference)s is "
            "not explained and will not be booked."
        ) % {"lines": payout.net - difference, "net": payout.net, "difference": difference}
    elif unmatched:
        payout.status = Payout.Status.REVIEW
        payout.note = _("%(count)s lines wait for review.") % {"count": unmatched}
    else:
        payout.status, payout.note = Payout.Status.MATCHED, ""
    payout.save(update_fields=["status", "note"])
