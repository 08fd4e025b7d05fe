"""`manage.py reconcile --connection ID [--json]`

Matches the gateway's payouts that are not booked yet again (an order may have been transferred
since), and books those that add up and have nothing waiting. What cannot be booked says why.
With --json, stdout is one line: {"payouts", "matched", "booked", "waiting": [{"reference",
"status", "reason"}]}.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ledger.models import Payout
from ledger.services import BookingRefused, payout_book, payout_match
from shops.models import Connection


class Command(BaseCommand):
    help = "Matches and books a gateway's imported payouts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--connection", type=int, required=True, help="The gateway connection id."
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON summary.")

    def handle(self, *args, **options):
        try:
            connection = Connection.objects.get(
                pk=options["connection"], kind=Connection.Kind.GATEWAY
            )
        except Connection.DoesNotExist as exc:
            raise CommandError(f"There is no gateway connection {options['connection']}.") from exc
        payouts = Payout.objects.filter(connection=connection).exclude(status=Payout.Status.BOOKED)
        summary = {"payouts": 0, "matched": 0, "booked": 0, "waiting": []}
        for payout in payouts.order_by("payout_date", "pk"):
            summary["payouts"] += 1
            summary["matched"] += payout_match(payout=payout).matched
            try:
                payout_book(payout=payout)
                summary["booked"] += 1
            except BookingRefused as refused:
                payout.refresh_from_db()
                summary["waiting"].append(
                    {
                        "reference": payout.reference,
                        "status": payout.status,
                        "reason": refused.reason,
                    }
                )
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(
            f"{summary['payouts']} payouts: {summary['booked']} booked, "
            f"{len(summary['waiting'])} waiting."
        )
        for waiting in summary["waiting"]:
            self.stdout.write(f"  {waiting['reference']}: {waiting['reason']}")
