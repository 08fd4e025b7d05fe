"""The CI stage's reading of pip-audit's report (.ci/dependency_audit.py): a known vulnerability
fails it naming the package and the fix; a report in which the vulnerability service answered
for nothing — which pip-audit itself calls "No known vulnerabilities found" — is "not audited",
never a pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("dependency_audit", ROOT / ".ci/dependency_audit.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

DJANGO = {"name": "django", "version": "5.2.19", "vulns": []}
REQUESTS = {"name": "requests", "version": "2.34.2", "vulns": []}


def test_a_known_vulnerability_fails_the_stage_naming_the_fix():
    vulnerable = {
        **DJANGO,
        "vulns": [
            {
                "id": "PYSEC-2026-1",
                "aliases": ["CVE-2026-12345"],
                "fix_versions": ["5.2.20", "6.0.4"],
                "description": "SQL injection in QuerySet.annotate",
            }
        ],
    }
    status, lines = audit.verdict({"dependencies": [vulnerable, REQUESTS], "fixes": []})

    assert status == audit.VULNERABLE == 1
    assert lines == [
        "VULNERABLE django 5.2.19: PYSEC-2026-1 (CVE-2026-12345); fixed in 5.2.20, 6.0.4"
    ]


def test_packages_the_service_did_not_answer_for_are_not_audited_not_clean():
    skipped = {
        "name": "django",
        "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)",
    }
    status, lines = audit.verdict({"dependencies": [skipped, REQUESTS], "fixes": []})

    assert status == audit.NOT_AUDITED == 3
    assert lines[0].startswith("NOT AUDITED: 1 of 2 packages")
    assert "django: Dependency not found on PyPI" in lines[1]


def test_an_unreachable_service_or_an_empty_report_is_not_audited():
    error = "Traceback …\nrequests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'"
    status, lines = audit.verdict(None, error)
    assert status == 3
    assert lines == [
        "DEPENDENCY AUDIT NOT DONE: pip-audit could not reach the vulnerability service.",
        "requests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'",
    ]
    assert audit.verdict({"dependencies": []})[0] == 3


def test_a_full_clean_report_passes():
    assert audit.verdict({"dependencies": [DJANGO, REQUESTS]}) == (
        0,
        ["2 packages audited; no known vulnerabilities."],
    )


def test_the_stage_audits_both_requirement_files_with_a_pinned_pip_audit():
    run = (ROOT / ".ci/run").read_text()
    assert 'stage "Dependency audit (pip-audit)" dependency_audit' in run
    assert ".ci/dependency_audit.py requirements.txt requirements-dev.txt" in run
    pins = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert any(line.startswith("pip-audit==") for line in pins)
