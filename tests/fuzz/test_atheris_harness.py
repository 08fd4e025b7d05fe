"""The atheris harness (fuzz/run.py, `make fuzz`) runs a bounded number of coverage-guided
inputs through the settlement parsers and the webhook checks without a crash. Longer runs:
`make fuzz FUZZ_RUNS=1000000`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNS = os.environ.get("FUZZ_RUNS", "3000")


@pytest.mark.parametrize("target", ["settlement", "webhook"])
def test_the_harness_runs_without_a_crash(target, tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    finished = subprocess.run(
        [sys.executable, "-m", "fuzz.run", target, f"-runs={RUNS}", "-seed=1"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert f"Done {RUNS} runs" in finished.stderr
    coverage = int(re.findall(r"DONE\s+cov: (\d+)", finished.stderr)[-1])
    assert coverage > (300 if target == "settlement" else 5)  # the parsers really ran
