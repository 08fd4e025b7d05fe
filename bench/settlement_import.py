"""Benchmark: import and reconcile one large Klarna payout file (the payout-with-transactions CSV,
100,000 lines by default) through ledger.services.payout_import — parse, write the lines, match
every sale to its own customer-ledger item (a Plus integration), check the payout adds up — and,
in the same run, import the same rows through a django-import-export ModelResource, the tool a
support person would otherwise reach for. Prints lines per second, peak memory (tracemalloc) and
the ratio.

    PYTHONPATH=. .venv/bin/python bench/settlement_import.py [--lines N] [--resource-lines M]

Standalone: sets Django up itself, on a throwaway SQLite database under var/ (or DATABASE_URL).
Both imports run with tracemalloc on, so both pay its overhead alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
VAR.mkdir(exist_ok=True)
THROWAWAY = VAR / f"bench-settlement-{os.getpid()}.sqlite3"
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{THROWAWAY}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrator.settings")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from import_export import resources  # noqa: E402
from tablib import Dataset  # noqa: E402

from bench._results import record  # noqa: E402
from billing.models import Customer  # noqa: E402
from integrator.models import Integration  # noqa: E402
from ledger.models import (  # noqa: E402
    Allocation,
    ImportedFile,
    LedgerItem,
    Payout,
    PayoutLine,
    Voucher,
)
from ledger.services import payout_import  # noqa: E402
from shops.models import Connection  # noqa: E402

HEADER = (
    "type;capture_date;sale_date;order_id;short_order_id;capture_id;merchant_reference1;"
    "merchant_reference2;amount;posting_currency;payment_reference;purchase_country;detailed_type"
)


def klarna_rows(lines: int, reference: str):
    """(type, order number, amount) per line: a sale and its fee per order, a partial return of
    every 20th order."""
    order = 100000
    produced = 0
    while produced < lines:
        order += 1
        amount = Decimal(199 + (order * 37) % 1800)
        fee = (amount * Decimal("0.029")).quantize(Decimal("0.01"))
        batch = [("SALE", order, amount), ("FEE", order, fee)]
        if order % 20 == 0:
            batch.append(("RETURN", order, (amount / 10).quantize(Decimal("0.01"))))
        for row in batch[: lines - produced]:
            produced += 1
            yield row


def write_file(path: Path, lines: int, reference: str) -> Decimal:
    sale = fee = returned = Decimal(0)
    body = []
    for kind, order, amount in klarna_rows(lines, reference):
        if kind == "SALE":
            sale += amount
        elif kind == "FEE":
            fee += amount
        else:
            returned += amount
        when = "2026-11-18T10:00:00Z"
        body.append(
            f"{kind};{when};{when};k-{order};KS{order};c-{order};{order};;{amount};SEK;{reference};SE;"
        )
    settlement = sale - fee - returned
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            "merchant_id;payment_reference;payout_date;currency_code;total_sale_amount;"
            "total_fee_amount;total_return_amount;total_settlement_amount\n"
        )
        handle.write(f"N100123;{reference};2026-11-20;SEK;{sale};{fee};{returned};{settlement}\n\n")
        handle.write(HEADER + "\n")
        handle.write("\n".join(body) + "\n")
    return settlement


class PayoutLineResource(resources.ModelResource):
    class Meta:
        model = PayoutLine
        fields = (
            "payout",
            "line_no",
            "type",
            "order_reference",
            "transaction_id",
            "currency",
            "gross",
            "fee",
            "net",
            "raw",
        )
        import_id_fields = ("payout", "line_no")
        # Configured for a large file as the django-import-export docs advise (no per-row diff,
        # bulk writes, no per-row lookup of an existing line): its fastest honest setting.
        skip_diff = True
        use_bulk = True
        force_init_instance = True
        batch_size = 2000


def resource_dataset(lines: int, payout: Payout) -> Dataset:
    """The same rows as the support person would have to shape them for the resource."""
    dataset = Dataset(headers=list(PayoutLineResource.Meta.fields))
    kinds = {"SALE": "sale", "FEE": "fee", "RETURN": "refund"}
    for number, (kind, order, amount) in enumerate(klarna_rows(lines, payout.reference), start=1):
        gross = amount if kind == "SALE" else (-amount if kind == "RETURN" else Decimal(0))
        fee = amount if kind == "FEE" else Decimal(0)
        raw = f'{{"type": "{kind}", "merchant_reference1": "{order}", "amount": "{amount}"}}'
        dataset.append(
            [
                payout.pk,
                number,
                kinds[kind],
                str(order),
                f"c-{order}",
                "SEK",
                gross,
                fee,
                gross - fee,
                raw,
            ]
        )
    return dataset


def unused_organisation_number() -> str:
    """A valid Swedish organisation number no customer has (the bench may run on a real DB)."""
    from stdnum import luhn
    from stdnum.se import orgnr

    for n in range(99999, 0, -1):
        digits = f"5599{n:05d}"
        number = orgnr.format(digits + luhn.calc_check_digit(digits))
        if not Customer.objects.filter(organisation_number=number).exists():
            return number
    raise RuntimeError("no free organisation number")


def remove(customer: Customer) -> None:
    """Everything the benchmark made, when it ran on a database that is not its own."""
    payouts = Payout.objects.filter(connection__customer=customer)
    Voucher.objects.filter(customer=customer).delete()
    Allocation.objects.filter(line__payout__in=payouts).delete()
    LedgerItem.objects.filter(connection__customer=customer).delete()
    payouts.delete()
    ImportedFile.objects.filter(connection__customer=customer).delete()
    Integration.objects.filter(customer=customer).delete()
    customer.delete()


def measure(work, *, trace: bool) -> tuple[float, int, object]:
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    outcome = work()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return elapsed, peak, outcome


def fresh_gateway(customer: Customer, erp: Connection, label: str) -> Connection:
    gateway = Connection.objects.create(
        customer=customer,
        name=f"Klarna {label} {time.time_ns()}",
        platform="klarna",
        base_url="http://127.0.0.1:9/",
    )
    Integration.objects.create(
        customer=customer,
        name=gateway.name,
        flow=Integration.Flow.GATEWAY_PLUS,
        erp=erp,
        gateway=gateway,
    )
    return gateway


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument(
        "--resource-lines",
        type=int,
        default=None,
        help="rows for django-import-export (default: the first 20,000 of the same rows, or all "
        "if fewer; its time per row is constant, so lines/s compare)",
    )
    args = parser.parse_args()
    resource_lines = args.resource_lines or min(args.lines, 20_000)
    call_command("migrate", verbosity=0)
    customer = Customer.objects.create(
        name="Benchmark AB", organisation_number=unused_organisation_number()
    )
    erp = Connection.objects.create(
        customer=customer, name="Visma (bench)", platform="visma", base_url="http://127.0.0.1:9/"
    )
    reference = f"BENCH{time.time_ns()}"
    with tempfile.TemporaryDirectory(dir=VAR) as folder:
        path = Path(folder) / "klarna_payout.csv"
        stated = write_file(path, args.lines, reference)
        size = path.stat().st_size
        runs = {}
        for trace in (False, True):  # once for the time, once for the memory
            gateway = fresh_gateway(customer, erp, "traced" if trace else "timed")
            runs[trace] = (
                gateway,
                *measure(
                    lambda g=gateway: payout_import(connection=g, source=path, name=path.name),
                    trace=trace,
                ),
            )
    gateway, ours_s, _peak, result = runs[False]
    ours_peak = runs[True][2]
    payout = Payout.objects.get(connection=gateway, reference=reference)
    summary = result.as_json()
    assert summary["lines"] == args.lines, summary
    assert payout.net == stated and payout.discrepancy() == 0, (payout.net, payout.discrepancy())

    target = Payout.objects.create(
        connection=gateway, reference=f"{reference}-RESOURCE", payout_date=payout.payout_date, net=0
    )
    resource = PayoutLineResource()
    dataset = resource_dataset(resource_lines, target)
    theirs_s, _none, report = measure(
        lambda: resource.import_data(
            dataset, dry_run=False, raise_errors=True, use_transactions=True
        ),
        trace=False,
    )
    assert target.lines.count() == resource_lines and not report.has_errors()
    target.lines.all().delete()
    traced_lines = min(resource_lines, 5_000)  # tracemalloc makes it slower still
    small = resource_dataset(traced_lines, target)
    _again, theirs_peak, _report = measure(
        lambda: resource.import_data(
            small, dry_run=False, raise_errors=True, use_transactions=True
        ),
        trace=True,
    )

    ours_rate, theirs_rate = args.lines / ours_s, resource_lines / theirs_s
    print(
        f"file: {args.lines} lines, {size / 1e6:.1f} MB, a Klarna payout-with-transactions CSV "
        f"({django.db.connection.vendor})"
    )
    print(
        f"payout_import (parse, write, match, check): {ours_s:7.2f} s {ours_rate:9.0f} lines/s  "
        f"peak {ours_peak / 1e6:6.1f} MB for {args.lines} lines  ({summary['matched']} matched, "
        f"{summary['unmatched']} unmatched, payout {payout.status})"
    )
    print(
        f"import-export ModelResource (write only):   {theirs_s:7.2f} s "
        f"{theirs_rate:9.0f} lines/s  "
        f"peak {theirs_peak / 1e6:6.1f} MB for {traced_lines} lines  (the first {resource_lines} "
        "of the same rows)"
    )
    print(f"ratio: {ours_rate / theirs_rate:.1f}x the lines per second of import-export")
    print("(times measured without tracemalloc; the peaks come from a second run with it on)")
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[django.db.connection.vendor]
    record(
        bench="settlement_import",
        what=f"payout file import + reconcile, {args.lines} Klarna lines",
        figure=ours_rate,
        unit="lines/s",
        baseline=theirs_rate,
        baseline_what=f"import-export ModelResource, {resource_lines} lines",
        database=database,
    )
    record(
        bench="settlement_import",
        what=f"payout file import: peak memory, {args.lines} lines",
        figure=ours_peak / 1e6,
        unit="MB",
        baseline=theirs_peak / 1e6,
        baseline_what=f"import-export ModelResource, {traced_lines} lines",
        database=database,
    )
    if os.environ["DATABASE_URL"] != f"sqlite:///{THROWAWAY}":
        remove(customer)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        from django.db import connections

        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{THROWAWAY}{suffix}").unlink(missing_ok=True)
