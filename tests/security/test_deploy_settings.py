"""Production mode must be safe with only DEBUG=False, SECRET_KEY and ALLOWED_HOSTS set."""

import json
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


def test_it_silences_no_security_check_and_sends_cookies_only_over_https():
    """The deploy check above passes because the settings are safe, not because a warning was
    switched off; the values a browser acts on, as production has them."""
    result = _manage(
        "shell",
        "-c",
        "import json; from django.conf import settings as s; print(json.dumps(["
        "s.SILENCED_SYSTEM_CHECKS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS, s.DEBUG]))",
        DEBUG="False",
        SECRET_KEY="x7#kq!2vLp0-deploy-check-" + "Zr9wYt4uNm8bQe3s" * 3,
        ALLOWED_HOSTS="integrations.example.se",
    )
    assert result.returncode == 0, result.stderr
    silenced, session_secure, csrf_secure, httponly, hsts, frames, debug = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert silenced == [] and debug is False
    assert session_secure and csrf_secure and httponly
    assert hsts >= 31536000 and frames == "DENY"
