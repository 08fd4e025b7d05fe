"""Audit the pinned requirements for known vulnerabilities with pip-audit (`bash .ci/run`'s
"Dependency audit" stage), and say plainly which of three things happened:

  exit 0  every package was audited and none has a known vulnerability;
  exit 1  a package has a known vulnerability (printed with the versions that fix it);
  exit 3  the audit could not be done: the vulnerability service did not answer, or answered
          for some packages only. pip-audit itself calls that "No known vulnerabilities found"
          and exits 0, which would be a green stage that checked nothing.

Usage: .venv/bin/python .ci/dependency_audit.py [requirements files…]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
CLEAN, VULNERABLE, NOT_AUDITED = 0, 1, 3
SERVICES = ("pypi", "osv")


def verdict(report: dict[str, Any] | None, problem: str = "") -> tuple[int, list[str]]:
    """The exit status and what to print for a pip-audit JSON report (None: it made none)."""
    if report is None:
        return NOT_AUDITED, [
            "DEPENDENCY AUDIT NOT DONE: pip-audit could not reach the vulnerability service.",
            *problem.strip().splitlines()[-1:],  # pip-audit's last word on why
        ]
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    lines = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            aliases = ", ".join(vuln.get("aliases") or [])
            lines.append(
                f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']}"
                f"{f' ({aliases})' if aliases else ''}; fixed in {fixes}"
            )
    if skipped:
        lines.append(
            f"NOT AUDITED: {len(skipped)} of {len(dependencies)} packages; the vulnerability "
            "service did not answer for them:"
        )
        lines += [f"  {d['name']}: {d['skip_reason']}" for d in skipped]
    if vulnerable:
        return VULNERABLE, lines
    if skipped or not dependencies:
        return NOT_AUDITED, lines or ["NOT AUDITED: pip-audit reported no packages at all."]
    return CLEAN, [f"{len(dependencies)} packages audited; no known vulnerabilities."]


def run(requirements: list[str], service: str) -> tuple[dict[str, Any] | None, str]:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "--format", "json", "--output", str(output)]
        command += ["--progress-spinner", "off", "--timeout", "30"]
        command += ["--vulnerability-service", service]
        for name in requirements:
            command += ["--requirement", str(ROOT / name)]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if not output.exists() or not output.read_text().strip():
            return None, finished.stderr[-2000:]
        return json.loads(output.read_text()), finished.stderr[-2000:]


def main(argv: list[str]) -> int:
    """PyPI's vulnerability data first; OSV's (the same advisories, another host) when PyPI's
    could not audit everything."""
    tried = []
    for service in SERVICES:
        report, problem = run(argv or list(REQUIREMENTS), service)
        status, lines = verdict(report, problem)
        tried.append((service, status, lines))
        if status != NOT_AUDITED:
            break
    for service, _status, lines in tried:
        print(f"--- pip-audit against {service}:")
        print("\n".join(lines))
    return tried[-1][1]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
