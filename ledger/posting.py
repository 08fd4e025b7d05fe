"""Booking a payout in Visma eEkonomi through its API, exactly once (DESIGN.md section 5).

A payout is booked locally first (ledger.services.payout_book: the refusals, the balanced
voucher); what that booked is then written to Visma, in this order:

1. per order, its invoice: Plus makes one (ledger/posting_invoices.py), Basic/Pay finds the one
   the webshop integration made by the order link's YourReference (`WEB-<shop>-<order>`);
2. per payout line and order (an Allocation), the payment of a sale into the Visma bank account
   whose ledger account is the gateway's clearing account (1686), on the payout date; the invoice
   is read first, and a remaining amount already lower than our earlier payments explain means
   an earlier attempt got through. A refund or chargeback becomes a credit invoice, settled at
   once by a negative payment from the same clearing account (read first: nothing remaining
   means it is settled), so the customer ledger keeps nothing open for it. Every amount compared
   with a payout line is the invoice's in its own currency (RemainingAmountInvoiceCurrency, the
   currency of PaymentAmount), never Visma's SEK RemainingAmount; a line in another currency
   than its invoice is refused, not converted;
3. the payout's voucher (fees, reverse-charge VAT, exchange differences, the transfer to the
   bank), found first by its text, which starts with the payout reference, on its date.

Every row (LedgerItem, Allocation, Voucher) is pending until Visma has it; a pending row is
always searched for before it is written, so a crash or a lost answer can delay, never duplicate.
Each outcome is a SyncItem of the run's "payouts" job, readable and retryable in the job admin.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from integrator.models import Integration, SyncItem
from ledger import booking
from ledger.accounts import AccountPlan
from ledger.matching import gateway_integration, plus_key
from ledger.models import Allocation, LedgerEvent, LedgerItem, Payout, PayoutLine, Voucher
from ledger.posting_calls import NotBookable, call, exactly_once
from ledger.posting_credits import BasicCredits
from ledger.posting_invoices import PlusInvoices, line_day
from shops.clients.errors import ApiError, PeriodClosed
from shops.clients.types import ErpInvoice, NewVoucher, NewVoucherRow
from shops.clients.visma_bodies import money, payment_body

ZERO = Decimal("0.00")
PAYING = (PayoutLine.Type.SALE, PayoutLine.Type.DISPUTE_REVERSAL)
TAKEN_BACK = (PayoutLine.Type.REFUND, PayoutLine.Type.CHARGEBACK)
BOOKED = LedgerItem.State.BOOKED
PENDING = LedgerItem.State.PENDING
Record = Callable[..., Any]  # integrator.services.item_record, bound to the job


def unposted(connection: Any) -> Any:
    """Payouts booked locally with something not yet in Visma, oldest first (a refund's sale
    was invoiced by an earlier payout)."""
    return (
        Payout.objects.filter(connection=connection, status=Payout.Status.BOOKED)
        .filter(Q(lines__allocations__state=PENDING) | Q(vouchers__state=Voucher.State.DRAFT))
        .distinct()
        .order_by("payout_date", "pk")
    )


class PayoutPoster:
    def __init__(self, *, payout: Payout, erp: Any, record: Record) -> None:
        self.payout, self.erp, self.record = payout, erp, record
        self.connection = payout.connection
        self.plan = AccountPlan.for_customer(self.connection.customer)
        integration = gateway_integration(self.connection)
        self.plus = bool(integration and integration.flow == Integration.Flow.GATEWAY_PLUS)
        self.plus_invoices = PlusInvoices(erp, self.connection, self.plan)
        self.basic_credits = BasicCredits(erp, self.plan)
        self.invoices: dict[int, ErpInvoice] = {}
        self.bank_account_id = ""
        self.old_voucher: bool | None = None

    def post(self) -> bool:
        """Write the payout to Visma; True when all of it is there."""
        found = booking.refusal(self.payout, self.plan)
        if found is not None:  # the same rules as the local booking, checked again at the API
            return self._failed("payout", self.payout.reference, found.reason)
        try:
            call(lambda: self.erp.ensure_period_open(self.payout.payout_date))
        except PeriodClosed as exc:
            return self._failed("payout", self.payout.reference, exc.message, exc)
        ok = True
        allocations = (
            Allocation.objects.filter(line__payout=self.payout, state=PENDING)
            .select_related("line", "item")
            .order_by("line__line_no", "pk")
        )
        for allocation in allocations:
            ok = self._allocation(allocation) and ok
        ok = self._voucher() and ok
        if ok:
            LedgerEvent.objects.create(
                payout=self.payout,
                action=LedgerEvent.Action.BOOKED,
                comment=_("Posted to Visma eEkonomi."),
            )
        return ok

    # --- one allocation: the order's invoice, then its payment or credit -----------------------

    def _allocation(self, allocation: Allocation) -> bool:
        line, item = allocation.line, allocation.item
        key = f"{item.order_reference} #{line.line_no}"[:100]
        try:
            invoice = self._invoice(item)
            self._same_currency(line, invoice, item.order_reference)
            if line.type in PAYING:
                remote_id, message = self._pay(allocation, invoice)
                object_type = "payment"
            else:
                remote_id, message = self._credit(allocation, invoice)
                object_type = "credit invoice"
        except NotBookable as exc:
            return self._failed("order", key, str(exc))
        except ApiError as exc:
            return self._failed("order", key, exc.message, exc)
        Allocation.objects.filter(pk=allocation.pk).update(state=BOOKED, remote_id=remote_id[:100])
        self.record(
            object_type=object_type,
            key=key,
            outcome=SyncItem.Outcome.TRANSFERRED,
            message=message,
            remote_id=remote_id[:100],
        )
        return True

    def _invoice(self, item: LedgerItem) -> ErpInvoice:
        if item.pk in self.invoices:
            return self.invoices[item.pk]
        if item.state == BOOKED and item.remote_id:
            invoice = call(lambda: self.erp.get_invoice(item.remote_id))
        elif item.kind == LedgerItem.Kind.NEW_INVOICE:
            sales = list(
                PayoutLine.objects.filter(allocations__item=item, type__in=PAYING)
                .select_related("payout")
                .order_by("occurred_at", "pk")
            )
            day = line_day(sales[0]) if sales else self.payout.payout_date
            invoice = self.plus_invoices.invoice(item, sales, day)
            self.record(
                object_type="invoice",
                key=item.order_reference,
                outcome=SyncItem.Outcome.TRANSFERRED,
                message=_("Invoice %(number)s (%(reference)s).")
                % {"number": invoice.invoice_number, "reference": item.natural_key},
                remote_id=invoice.id,
            )
        else:
            invoice = call(lambda: self.erp.find_invoice(item.natural_key))
            if invoice is None:
                raise NotBookable(
                    _(
                        "Visma eEkonomi has no invoice %(reference)s for order %(order)s: the "
                        "webshop integration has not transferred it (or it was deleted)."
                    )
                    % {"reference": item.natural_key, "order": item.order_reference}
                )
        LedgerItem.objects.filter(pk=item.pk).update(state=BOOKED, remote_id=invoice.id)
        self.invoices[item.pk] = invoice
        return invoice

    def _same_currency(self, line: PayoutLine, invoice: ErpInvoice, order: str) -> None:
        """A payment or credit is made in the invoice's currency: a line in another one would
        be compared and paid as if it were that currency."""
        if line.currency and line.currency.upper() != invoice.currency:
            raise NotBookable(
                _(
                    "Invoice %(number)s is in %(invoice_currency)s, but %(gateway)s settled order "
                    "%(order)s in %(currency)s. A payment is booked in the invoice's currency and "
                    "we do not convert it: book it by hand in Visma eEkonomi, then mark the line "
                    "handled."
                )
                % {
                    "number": invoice.invoice_number,
                    "invoice_currency": invoice.currency,
                    "gateway": self.connection.get_platform_display(),
                    "order": order,
                    "currency": line.currency.upper(),
                }
            )

    def _bank_account(self) -> str:
        if not self.bank_account_id:
            clearing = int(self.plan.clearing_for(self.connection.platform))
            account = next(
                (
                    b
                    for b in call(self.erp.bank_accounts)
                    if b.is_active and b.ledger_account_number == clearing
                ),
                None,
            )
            if account is None:
                raise NotBookable(
                    _(
                        "Visma eEkonomi has no bank account on ledger account %(account)s, where "
                        "payments through %(gateway)s are booked. The merchant creates one (bank "
                        "accounts, type other) and the booking is retried."
                    )
                    % {"account": clearing, "gateway": self.connection.get_platform_display()}
                )
            self.bank_account_id = account.id
        return self.bank_account_id

    def _pay(self, allocation: Allocation, invoice: ErpInvoice) -> tuple[str, str]:
        bank_account_id = self._bank_account()
        amount = allocation.amount
        paid_before = (
            Allocation.objects.filter(
                item=allocation.item, state=BOOKED, line__type__in=PAYING
            ).aggregate(s=Sum("amount"))["s"]
            or ZERO
        )

        def find() -> str | None:
            current = self.erp.get_invoice(invoice.id)
            expected = current.total_amount - paid_before
            # Less left than our booked payments explain: this one got through earlier (or the
            # merchant took the payment in Visma); either way, paying again would pay twice.
            if current.remaining_amount <= expected - (amount or current.remaining_amount):
                return ""
            return None

        def create() -> str:
            wanted = amount if amount is not None else self._share(allocation, invoice)
            if self.payout.currency != self.plan.accounting_currency:
                payment = self._pay_in_currency(invoice.id, wanted, bank_account_id)
            else:
                payment = self.erp.pay_invoice(
                    invoice.id,
                    amount=wanted,
                    payment_date=self.payout.payout_date,
                    bank_account_id=bank_account_id,
                    currency=self.payout.currency,
                    reference=self.payout.reference[:100],
                )
            return "" if payment is None else f"{invoice.id}:{wanted}"

        if amount is not None and amount <= 0:
            raise NotBookable(_("A payment of %(amount)s is not a payment.") % {"amount": amount})
        paid = exactly_once(find, create)
        return invoice.id, (
            _("Paid %(amount)s on invoice %(number)s.")
            % {"amount": amount or "", "number": invoice.invoice_number}
            if paid
            else _("Invoice %(number)s was already paid in Visma; nothing paid again.")
            % {"number": invoice.invoice_number}
        )

    def _pay_in_currency(self, invoice_id: str, amount: Decimal, bank_account_id: str) -> Any:
        """A payment in the payout's currency into the clearing account, which is kept in the
        accounting currency: Visma is told what it was worth there (DomesticPaymentAmount, at
        the payout's rate) and books the difference to the invoice's own rate as its exchange
        difference (3960/7960). What the gateway's later conversion into SEK gains or loses
        against the payout's rate is the payout voucher's (ledger/exchange.py): booked once."""
        current = self.erp.get_invoice(invoice_id)
        if current.remaining_amount <= 0:
            return None
        body = payment_body(
            amount=amount,
            remaining=current.remaining_amount,
            payment_date=self.payout.payout_date,
            currency=self.payout.currency,
            bank_account_id=bank_account_id,
            reference=self.payout.reference[:100],
            bank_fee=ZERO,
        )
        body["DomesticPaymentAmount"] = money(amount * (self.payout.exchange_rate or 0))
        return self.erp.request(
            "POST", f"/v2/customerinvoices/{invoice_id}/payments", json_body=body
        )

    def _share(self, allocation: Allocation, invoice: ErpInvoice) -> Decimal:
        """One payment for several orders: each invoice gets what it has left, in turn."""
        spent = (
            Allocation.objects.filter(line=allocation.line, state=BOOKED).aggregate(
                s=Sum("amount")
            )["s"]
            or ZERO
        )
        current = self.erp.get_invoice(invoice.id)
        share = min(current.remaining_amount, allocation.line.gross - spent)
        Allocation.objects.filter(pk=allocation.pk).update(amount=share)
        return share

    def _credit(self, allocation: Allocation, invoice: ErpInvoice) -> tuple[str, str]:
        line = allocation.line
        key = plus_key(self.connection, f"{allocation.item.order_reference}-K{line.pk}")
        if self.plus:
            credit = self.plus_invoices.credit(allocation.item, line, invoice, key)
        else:
            earlier = Allocation.objects.filter(
                item=allocation.item, state=BOOKED, line__type__in=TAKEN_BACK
            ).exclude(remote_id="")
            credit = self.basic_credits.credit(
                invoice,
                -line.gross,
                key,
                order=allocation.item.order_reference,
                earlier=list(earlier.values_list("remote_id", flat=True)),
            )
        if self._settles_credits():
            self._settle(credit)
        return credit.id, _(
            "Credit invoice %(number)s (%(reference)s) for invoice %(credited)s, settled."
        ) % {
            "number": credit.invoice_number,
            "reference": key,
            "credited": invoice.invoice_number,
        }

    def _settles_credits(self) -> bool:
        # A payout whose voucher was built before credits were settled through the API debits
        # receivables for its refunds already: settling them too would book the refund twice.
        if self.old_voucher is None:
            self.old_voucher = Voucher.objects.filter(
                payout=self.payout,
                rows__account=self.plan.receivables,
                rows__text__startswith="Återbetalt till kunder",
            ).exists()
        return not self.old_voucher

    def _settle(self, credit: ErpInvoice) -> None:
        """The money went back to the buyer from the clearing account: the credit invoice is
        paid from it (a negative payment), so the customer ledger has nothing open for it."""
        bank_account_id = self._bank_account()

        def find() -> str | None:
            settled = self.erp.get_invoice(credit.id).remaining_amount >= 0
            return "" if settled else None

        def create() -> str:
            self.erp.settle_credit_invoice(
                credit.id,
                payment_date=self.payout.payout_date,
                bank_account_id=bank_account_id,
                currency=self.payout.currency,
                reference=self.payout.reference[:100],
                domestic_rate=(
                    self.payout.exchange_rate
                    if self.payout.currency != self.plan.accounting_currency
                    else None
                ),
            )
            return ""

        exactly_once(find, create)

    # --- the fees-and-transfer voucher --------------------------------------------------------

    def _voucher(self) -> bool:
        voucher = self.payout.vouchers.filter(state=Voucher.State.DRAFT).first()
        if voucher is None:
            return True
        prefix = self.payout.reference
        rows = [
            NewVoucherRow(
                account_number=int(row.account),
                debit=row.amount if row.amount > 0 else ZERO,
                credit=-row.amount if row.amount < 0 else ZERO,
                text=row.text,
            )
            for row in voucher.rows.all()
        ]
        new = NewVoucher(date=voucher.date, text=voucher.text[:100], rows=rows)
        try:
            posted = exactly_once(
                lambda: self.erp.find_voucher(prefix, voucher.date),
                lambda: self.erp.create_voucher(new),
            )
        except ApiError as exc:
            return self._failed("voucher", prefix, exc.message, exc)
        Voucher.objects.filter(pk=voucher.pk).update(
            state=Voucher.State.POSTED, remote_id=posted.id
        )
        self.record(
            object_type="voucher",
            key=prefix[:100],
            outcome=SyncItem.Outcome.TRANSFERRED,
            message=_("Voucher %(number)s.") % {"number": posted.number},
            remote_id=posted.id,
        )
        return True

    def _failed(self, object_type: str, key: str, message: str, exc: Any = None) -> bool:
        self.record(
            object_type=object_type,
            key=key[:100],
            outcome=SyncItem.Outcome.FAILED,
            message=message,
            detail=getattr(exc, "exchange", None),
        )
        return False


def post_payout(*, payout: Payout, erp: Any, record: Record) -> bool:
    ok = PayoutPoster(payout=payout, erp=erp, record=record).post()
    if ok:
        Payout.objects.filter(pk=payout.pk).update(booked_at=payout.booked_at or timezone.now())
    return ok
