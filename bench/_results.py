"""Where every benchmark puts its figures, and the one table `make bench` ends with.

Each script calls `record(...)` once per figure; that appends one JSON line to
var/bench/results.jsonl (BENCH_RESULTS overrides the path). `make bench` empties the file first
and runs `python bench/_results.py` last, which prints all of them as one table:

    what | figure | baseline (measured in the same run) | ratio | database
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "var" / "bench" / "results.jsonl"))


def record(
    *,
    bench: str,
    what: str,
    figure: float,
    unit: str,
    baseline: float | None,
    baseline_what: str,
    database: str,
    note: str = "",
) -> None:
    """One row of the table. `baseline` is the same figure measured in the same run under the
    condition `baseline_what` names (None: no baseline for this figure, e.g. a count that must
    be zero). The ratio is figure / baseline."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    row = {
        "bench": bench,
        "what": what,
        "figure": figure,
        "unit": unit,
        "baseline": baseline,
        "baseline_what": baseline_what,
        "database": database,
        "note": note,
    }
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _number(value: float, unit: str) -> str:
    if unit in ("%",):
        return f"{value:.1f} %"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f} {unit}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:.0f} {unit}"
    if abs(value) >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def rows() -> list[dict[str, Any]]:
    if not RESULTS.exists():
        return []
    return [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line]


def table(found: list[dict[str, Any]]) -> str:
    """A Markdown table, readable in a terminal and pasteable into docs/BENCHMARKS.md."""
    lines = [
        "| what | figure | baseline (same run) | ratio | database |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for row in found:
        if row["baseline"] is None:
            baseline, ratio = row["baseline_what"] or "–", "–"
        else:
            baseline = f"{_number(row['baseline'], row['unit'])} ({row['baseline_what']})"
            ratio = f"{row['figure'] / row['baseline']:.2f}×" if row["baseline"] else "–"
        what = row["what"] + (f" ({row['note']})" if row["note"] else "")
        figure = _number(row["figure"], row["unit"])
        lines.append(f"| {what} | {figure} | {baseline} | {ratio} | {row['database']} |")
    return "\n".join(lines)


def main() -> int:
    found = rows()
    if not found:
        print(f"No results in {RESULTS}.")
        return 1
    print()
    print(f"All figures of this run ({RESULTS}):")
    print(table(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
