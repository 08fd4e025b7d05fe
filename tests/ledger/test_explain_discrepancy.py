"""A payout whose lines do not add up to what the gateway paid waits until a person explains
the difference; the explanation is a line of its own, audited, and the difference stays on the
clearing account where the accountant sees it."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.urls import reverse

from ledger import services
from ledger.models import LedgerEvent, Payout, PayoutLine
from ledger.services import payout_import
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
COMMENT = "Klarna credited 1.00 for a late fee refund, see their e-mail of 24 Nov."


@pytest.fixture
def off_by_one(plus) -> Payout:
    document = json.loads(sample("klarna_settlements_api.json").read_text())
    document["payouts"][0]["totals"]["settlement_amount"] += 100  # Klarna says 1.00 more
    payout_import(connection=plus("klarna"), source=json.dumps(document).encode())
    return Payout.objects.get(reference="XISA93DJ")


def test_support_explains_the_difference_in_the_admin_and_the_payout_books(
    admin_client, admin_user, off_by_one
):
    url = reverse("admin:ledger_payout_changelist")
    chosen = {"action": "explain_discrepancy", ACTION_CHECKBOX_NAME: [off_by_one.pk]}
    form = admin_client.post(url, chosen, **EN)
    assert "Explain the discrepancy" in form.content.decode()

    done = admin_client.post(url, {**chosen, "apply": "1", "comment": COMMENT}, follow=True, **EN)

    assert "XISA93DJ: 1.00 explained; it can be booked now." in done.content.decode()
    off_by_one.refresh_from_db()
    assert off_by_one.discrepancy() == 0 and off_by_one.status == Payout.Status.MATCHED
    line = off_by_one.lines.get(type=PayoutLine.Type.ADJUSTMENT)
    assert (line.net, line.match, line.match_note) == (D("1.00"), "handled", COMMENT)
    event = LedgerEvent.objects.get(line=line)
    assert event.user == admin_user and COMMENT in event.comment and "1.00" in event.comment

    voucher = services.payout_book(payout=off_by_one)
    assert sum(row.amount for row in voucher.rows.all()) == 0
    bank = voucher.rows.get(account="1930").amount
    assert bank == off_by_one.net  # what reached the bank, the explained 1.00 included


def test_nothing_is_explained_without_a_comment_or_without_a_difference(plus, off_by_one):
    with pytest.raises(ValidationError, match="a comment is required"):
        services.payout_explain_discrepancy(payout=off_by_one, user=None, comment="  ")
    services.payout_explain_discrepancy(payout=off_by_one, user=None, comment=COMMENT)

    with pytest.raises(ValidationError, match="has no discrepancy to explain"):
        services.payout_explain_discrepancy(payout=off_by_one, user=None, comment=COMMENT)
    assert off_by_one.lines.filter(type=PayoutLine.Type.ADJUSTMENT).count() == 1
