"""Coverage-guided fuzzing with atheris (libFuzzer for Python) of what reads outside input:

    python -m fuzz.run settlement [libFuzzer options, e.g. -runs=100000 -max_total_time=60]
    python -m fuzz.run webhook    [...]
    make fuzz                     both, FUZZ_RUNS (default 20000) inputs each

`settlement` starts from the sample files in tests/ledger/samples and mutates them through
fuzz.targets.settlement (encoding, detection, every parser); `webhook` feeds bodies and
signatures to the checks the webhook endpoint makes before it stores anything. Any exception
other than the expected refusal is a crash: libFuzzer stops, prints the traceback and saves the
input under var/fuzz/ — keep it as a test in tests/fuzz/ when you fix it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "ledger" / "samples"
CRASHES = ROOT / "var" / "fuzz"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrator.settings")
sys.path.insert(0, str(ROOT))
# Django's setup imports the apps, so the modules to cover are instrumented as it loads them.
COVERED = ["ledger", "fuzz", "integrator.webhooks", "shops.webhooks"]
with atheris.instrument_imports(include=COVERED):
    import django

    django.setup()
    from fuzz.targets import settlement
    from integrator.webhooks import _not_an_event
    from ledger.parsers import ParseError
    from shops.webhooks import verify_shopify_hmac


def settlement_input(data: bytes) -> None:
    try:
        settlement(data)
    except ParseError as refused:
        assert refused.row not in (None, ""), f"a refusal that names no row: {refused}"


SECRET = "fuzz-secret"


def webhook_input(data: bytes) -> None:
    signature = base64.b64encode(hmac.new(SECRET.encode(), data, hashlib.sha256).digest())
    assert verify_shopify_hmac(SECRET, data, signature.decode())
    assert not verify_shopify_hmac(SECRET + "x", data, signature.decode())
    forged = data[:64].decode("latin-1")
    assert forged == signature.decode() or not verify_shopify_hmac(SECRET, data, forged)
    problem = _not_an_event(data)
    assert isinstance(problem, str)


TARGETS = {"settlement": (settlement_input, SAMPLES), "webhook": (webhook_input, None)}


def main() -> None:
    name, *options = sys.argv[1:] or ["settlement"]
    target, seeds = TARGETS[name]
    CRASHES.mkdir(parents=True, exist_ok=True)
    corpus = tempfile.mkdtemp(prefix=f"fuzz-{name}-")  # new inputs go here, never into seeds
    arguments = [sys.argv[0], *options, f"-artifact_prefix={CRASHES}/{name}-", corpus]
    if seeds is not None:
        arguments.append(str(seeds))
    atheris.Setup(arguments, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
