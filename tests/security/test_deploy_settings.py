"""Production mode must be safe with only DEBUG=False, SECRET_KEY and ALLOWED_HOSTS set."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_with_only_the_three_required_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY="x7#kq!2vLp0-deploy-check-" + "Zr9wYt4uNm8bQe3s" * 3,
        ALLOWED_HOSTS="integrations.example.se",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _manage("check", DEBUG="False", ALLOWED_HOSTS="integrations.example.se")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
