"""Everything that changes the settlement ledger goes through these functions (keyword-only, one
transaction each, an audit row for what a person did). The admin, the commands and the tasks are
just callers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import booking, matching
from ledger.accounts import AccountPlan
from ledger.booking import BookingRefused
from ledger.importing import ImportRejected, ImportResult
from ledger.importing import payout_import as _payout_import
from ledger.models import Allocation, LedgerEvent, LedgerItem, Payout, PayoutLine, Voucher

__all__ = [
    "BookingRefused",
    "ImportRejected",
    "ImportResult",
    "line_mark_handled",
    "payout_book",
    "payout_import",
    "payout_match",
    "payout_explain_discrepancy",
    "payout_set_exchange_rate",
]

payout_import = _payout_import


def _audit(
    payout: Payout, action: str, user: Any, comment: str = "", line: PayoutLine | None = None
):
    return LedgerEvent.objects.create(
        payout=payout,
        line=line,
        action=action,
        user=user if getattr(user, "pk", None) else None,
        comment=comment,
    )


def _locked(payout: Payout) -> Payout:
    # Two people (or a person and the scheduler) acting on one payout at once must take turns:
    # the second sees what the first did, so nothing is matched over a booking or booked twice.
    return (
        Payout.objects.select_for_update().select_related("connection__customer").get(pk=payout.pk)
    )


def payout_match(*, payout: Payout, user: Any = None) -> matching.MatchOutcome:
    """Match the payout's open lines again (after an order was transferred, a sale imported…).
    Lines handled by hand and booked payments stay as they are."""
    with transaction.atomic():
        payout = _locked(payout)
        if payout.status == Payout.Status.BOOKED:
            raise ValidationError(
                _("Payout %(reference)s is booked; it is not matched again.")
                % {"reference": payout.reference}
            )
        outcome = matching.match_payout(payout)
        if user is not None:
            _audit(
                payout,
                LedgerEvent.Action.MATCHED,
                user,
                _("%(matched)s matched, %(unmatched)s unmatched.")
                % {"matched": outcome.matched, "unmatched": outcome.unmatched},
            )
        return outcome


def payout_book(*, payout: Payout, user: Any = None) -> Voucher | None:
    """Book the payout's fees and transfer as one balanced voucher, exactly once. Refuses (and
    says why, in the payout's note and the audit trail) when the lines do not add up, lines wait
    for review, a documented gateway limit applies, or a foreign currency has no rate."""
    refused: BookingRefused | None = None
    with transaction.atomic():
        payout = _locked(payout)
        if payout.status == Payout.Status.BOOKED:
            return payout.vouchers.first()
        plan = AccountPlan.for_customer(payout.connection.customer)
        found = booking.refusal(payout, plan)
        if found is not None:
            refused = BookingRefused(found.reason, found.kind)
            if found.kind in ("limit", "rate"):
                payout.status = Payout.Status.REFUSED
            payout.note = found.reason[:500]
            payout.save(update_fields=["status", "note"])
            _audit(payout, LedgerEvent.Action.REFUSED, user, found.reason)
        else:
            voucher = _book(payout, plan, user)
    if refused is not None:
        raise refused
    return voucher


def _book(payout: Payout, plan: AccountPlan, user: Any) -> Voucher | None:
    rows = booking.voucher_rows(payout, plan)
    voucher = None
    if rows:
        try:
            with transaction.atomic():
                voucher = Voucher.objects.create_balanced(
                    customer=payout.connection.customer,
                    date=payout.payout_date,
                    text=booking.voucher_text(payout),
                    rows=rows,
                    payout=payout,
                )
        except IntegrityError:  # booked by someone else a moment ago: that one stands
            return payout.vouchers.first()
    payout.status, payout.booked_at = Payout.Status.BOOKED, timezone.now()
    payout.note = "" if voucher else _("Nothing to book: no fees and nothing transferred.")
    payout.save(update_fields=["status", "booked_at", "note"])
    _audit(
        payout,
        LedgerEvent.Action.BOOKED,
        user,
        _("Voucher %(voucher)s.") % {"voucher": voucher} if voucher else payout.note,
    )
    return voucher


def line_mark_handled(*, line: PayoutLine, user: Any, comment: str) -> PayoutLine:
    """A person has dealt with this line outside the system (or decided it needs nothing); the
    comment says what was done, and the audit trail says who and when."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(_("Say what was done with the line: a comment is required."))
    with transaction.atomic():
        payout = _locked(line.payout)
        line = PayoutLine.objects.select_for_update().get(pk=line.pk)
        if line.allocations.filter(state=LedgerItem.State.BOOKED).exists():
            raise ValidationError(_("The line's payment is already booked."))
        Allocation.objects.filter(line=line).delete()
        line.match, line.match_note = PayoutLine.Match.HANDLED, comment[:500]
        line.save(update_fields=["match", "match_note"])
        _audit(payout, LedgerEvent.Action.HANDLED, user, comment, line=line)
        matching.settle_status(payout)
    return line


def payout_explain_discrepancy(*, payout: Payout, user: Any, comment: str) -> PayoutLine:
    """A person has found why the lines do not add up to what the gateway paid (a row missing
    from its report, a correction it made) and says so. The difference becomes an adjustment line
    with that comment, so the payout can be booked: it stays on the gateway's clearing account,
    where the accountant sees it, rather than being spread over fees or sales by a guess."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(_("Say what explains the difference: a comment is required."))
    with transaction.atomic():
        payout = _locked(payout)
        if payout.status == Payout.Status.BOOKED:
            raise ValidationError(_("The payout is booked; its lines are fixed."))
        difference = payout.discrepancy()
        if not difference:
            raise ValidationError(
                _("Payout %(reference)s has no discrepancy to explain.")
                % {"reference": payout.reference}
            )
        last = payout.lines.aggregate(n=Max("line_no"))["n"] or 0
        line = PayoutLine.objects.create(
            payout=payout,
            line_no=last + 1,
            type=PayoutLine.Type.ADJUSTMENT,
            currency=payout.currency,
            gross=difference,
            fee=Decimal(0),
            net=difference,
            match=PayoutLine.Match.HANDLED,
            match_note=comment[:500],
            # Not the gateway's row: a person's, and the raw record says whose.
            raw={"explained_by": getattr(user, "username", ""), "comment": comment[:500]},
        )
        _audit(
            payout,
            LedgerEvent.Action.HANDLED,
            user,
            _("Discrepancy of %(difference)s explained: %(comment)s")
            % {"difference": difference, "comment": comment},
            line=line,
        )
        matching.settle_status(payout)
    return line


def payout_set_exchange_rate(*, payout: Payout, rate: Decimal, user: Any) -> Payout:
    if rate <= 0:
        raise ValidationError(_("An exchange rate is a positive number."))
    with transaction.atomic():
        payout = _locked(payout)
        if payout.status == Payout.Status.BOOKED:
            raise ValidationError(_("The payout is booked; its rate is fixed."))
        payout.exchange_rate = rate
        payout.save(update_fields=["exchange_rate"])
        if payout.status == Payout.Status.REFUSED:
            matching.settle_status(payout)
        _audit(payout, LedgerEvent.Action.RATE, user, str(rate))
    return payout
