"""Keep secrets out of logs and out of the job log that support staff read."""

import logging
import re
from typing import Any

REDACTED = "[redacted]"

SECRET_NAMES = re.compile(
    r"(authorization|password|passwd|secret|token|api[_-]?key|client[_-]?secret|cookie|"
    r"signature|hmac|credential|refresh|access[_-]?key|consumer[_-]?key|private)",
    re.IGNORECASE,
)
# Secrets that appear inside free text: bearer tokens, basic auth, key=value pairs, Stripe keys.
SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|password|api_key|code)=)[^&\s\"']+"
        ),
        r"\1" + REDACTED,
    ),
    # JSON or a Python repr: "refresh_token": "…" / 'client_secret': '…'
    (
        re.compile(
            r"(?i)([\"'](?:access_token|refresh_token|client_secret|password|api_key|secret)"
            r"[\"']\s*:\s*[\"'])[^\"']*"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(sk|rk)_(live|test)_[A-Za-z0-9]+"), REDACTED),
]


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of `value` (dicts, lists, headers, strings) with every secret replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and SECRET_NAMES.search(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactingFilter(logging.Filter):
    """Redacts the formatted message, so a secret passed as an argument is caught too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = redact(record.args)
        elif record.args:
            record.args = tuple(redact(a) for a in record.args)
        message = redact_text(record.getMessage())
        record.msg, record.args = message, None
        return True
