"""`manage.py sandbox`: serve the loopback copies of the external APIs until interrupted."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shops.sandbox.server import SandboxServer
from shops.sandbox.state import SandboxOptions


class Command(BaseCommand):
    help = "Serve the sandbox APIs (Visma, Jetshop, …) at http://HOST:PORT/<system>/…"

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SandboxOptions()
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--faults",
            type=float,
            default=defaults.faults,
            help="share of requests (0..1) failing: 500, 502, 429, timeout or lost response",
        )
        parser.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=defaults.rate_limit,
            help="Visma requests per minute per API client and endpoint",
        )
        parser.add_argument(
            "--timeout-sleep",
            type=float,
            default=defaults.timeout_sleep_s,
            help="seconds a 'timeout' fault stalls; keep it above the clients' HTTP_TIMEOUT",
        )
        parser.add_argument(
            "--rate-window",
            type=float,
            default=defaults.rate_window_s,
            help="seconds the Visma rate limit counts over (Visma: 60)",
        )
        parser.add_argument(
            "--jetshop-orders",
            type=int,
            default=defaults.jetshop_orders,
            help="generated orders added to each Jetshop demo shop (volume for benchmarks)",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--quiet", action="store_true", help="do not log each request")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["faults"] <= 1:
            raise CommandError("--faults is a rate between 0 and 1")
        if not 0 <= options["jetshop_orders"] <= 20000:
            raise CommandError("--jetshop-orders is 0–20000")
        sandbox_options = SandboxOptions(
            faults=options["faults"],
            latency_ms=options["latency_ms"],
            rate_limit=options["rate_limit"],
            rate_window_s=options["rate_window"],
            timeout_sleep_s=options["timeout_sleep"],
            seed=options["seed"],
            jetshop_orders=options["jetshop_orders"],
        )
        server = SandboxServer(
            options["host"], options["port"], sandbox_options, quiet=options["quiet"]
        )
        self.stdout.write(f"Sandbox serving at {server.url}  (state: {server.url}/_sandbox/state)")
        self.stdout.write(
            "Systems: " + ", ".join(f"{server.url}/{name}/" for name in server.state.systems)
        )
        self.stdout.write(
            f"Hooks: POST {server.url}/_sandbox/jetshop/generate "
            '{"shop": "norrsken", "orders": N}, '
            f"POST {server.url}/_sandbox/visma/articles "
            '{"company": "fjallmode", "articles": [...]}'
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the sandbox.")
        finally:
            server.server_close()
