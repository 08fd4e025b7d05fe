"""The benchmark runs standalone (its own Django set-up and throwaway SQLite database) and prints
its figures; here with a few hundred lines, so CI notices when it breaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_small_and_reports_its_figures():
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["PYTHONPATH"] = str(ROOT)
    before = set((ROOT / "var").glob("bench-settlement-*"))
    done = subprocess.run(
        [sys.executable, "bench/settlement_import.py", "--lines", "400", "--resource-lines", "100"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "file: 400 lines" in done.stdout
    assert "payout_import (parse, write, match, check):" in done.stdout and "lines/s" in done.stdout
    assert "import-export ModelResource" in done.stdout and "ratio:" in done.stdout
    assert set((ROOT / "var").glob("bench-settlement-*")) == before  # its database is gone
