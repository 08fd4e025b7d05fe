"""`manage.py import_settlement --connection ID [--provider P] [--json] FILE`: the contract that
operators and scripts rely on (DESIGN.md section 7)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Payout
from tests.ledger.conftest import sample

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_settlement", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_prints_the_summary_in_major_units(plus):
    gateway = plus("klarna")
    out, _err = _run(
        "--connection",
        str(gateway.pk),
        "--json",
        str(sample("klarna_payout_with_transactions.csv")),
    )
    assert json.loads(out) == {
        "payouts": 1,
        "lines": 9,
        "matched": 5,
        "unmatched": 0,
        "currency": "SEK",
        "gross": "1837.00",
        "fees": "56.17",
        "net": "1780.83",
    }


def test_a_file_with_several_currencies_prints_one_object_per_currency(plus):
    gateway = plus("paypal")
    out, err = _run(
        "--connection",
        str(gateway.pk),
        "--provider",
        "paypal",
        "--json",
        str(sample("paypal_activity_download_en.csv")),
    )
    summary = json.loads(out)
    assert [s["currency"] for s in summary] == ["SEK", "EUR"]
    assert summary[0]["net"] == "2037.22" and summary[1]["gross"] == "3.07"
    assert "row 11: the gateway says net 191.90" in err  # the flagged row, said on stderr


def test_the_repeated_import_prints_zero_lines_and_says_what_was_there(plus):
    gateway = plus("stripe")
    path = str(sample("stripe_balance_transactions.json"))
    _run("--connection", str(gateway.pk), path)
    out, err = _run("--connection", str(gateway.pk), "--json", path)
    assert json.loads(out)["lines"] == 0 and json.loads(out)["payouts"] == 0
    assert "already imported" in err and "po_1Q0a1bPayout20261124" in err
    text, _ = _run("--connection", str(gateway.pk), path)
    assert "already imported" in text


def test_a_malformed_file_is_a_command_error_naming_row_and_field(plus, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text(
        sample("klarna_payout_with_transactions.csv").read_text().replace(";189.00;", ";1 8 9;")
    )
    gateway = plus("klarna")
    with pytest.raises(CommandError, match=r"row 11, field 'amount'"):
        _run("--connection", str(gateway.pk), str(broken))
    assert not Payout.objects.exists()


def test_text_output_lists_each_payout_and_its_state(plus):
    gateway = plus("klarna")
    out, _ = _run("--connection", str(gateway.pk), str(sample("klarna_settlements_api.json")))
    assert "SEK: 2 payouts, 10 lines (4 matched, 0 unmatched)" in out
    assert "XISA93DJ: Matched" in out


def test_unknown_connection_or_file(plus, tmp_path):
    with pytest.raises(CommandError, match="There is no connection 999999"):
        _run("--connection", "999999", str(sample("nets_easy_payouts.json")))
    with pytest.raises(CommandError, match="is not a file"):
        _run("--connection", str(plus("nets").pk), str(tmp_path / "missing.json"))


def test_reconcile_matches_again_and_books_what_adds_up(basic):
    from tests import factories

    gateway, shop, webshop = basic("shopify_payments")
    _run("--connection", str(gateway.pk), str(sample("shopify_payments_payout.json")))
    out = io.StringIO()
    call_command("reconcile", "--connection", str(gateway.pk), "--json", stdout=out)
    first = json.loads(out.getvalue())
    assert (first["booked"], first["waiting"][0]["status"]) == (0, "review")

    factories.order_link(webshop, shop, "1042", source_id="450789469")
    factories.order_link(webshop, shop, "1043", source_id="450789470")
    out = io.StringIO()
    call_command("reconcile", "--connection", str(gateway.pk), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"payouts": 1, "matched": 3, "booked": 1, "waiting": []}
    assert Payout.objects.get().status == Payout.Status.BOOKED
