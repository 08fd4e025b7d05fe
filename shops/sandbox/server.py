"""The loopback HTTP server behind `manage.py sandbox` and the tests.

Each system is served under /<system>/… (see shops/sandbox/visma.py and jetshop.py). Control
endpoints, for tests and operators:
- GET  /_sandbox/state[?system=S]    per system: objects created, create calls per natural key,
                                     token requests; plus options and faults injected
- POST /_sandbox/reset               back to the deterministic demo data and startup options
- POST /_sandbox/config              change options: {"faults", "latency_ms", "rate_limit",
                                     "rate_window_s", "timeout_sleep_s", "seed"}
- POST /_sandbox/faults              {"method", "path", "faults": ["timeout", "drop", …]}: the
                                     next matching requests fail so, in order
- GET  /_sandbox/requests            the last requests (method, path, query, JSON body, status)
- POST /_sandbox/<system>/<action>   a system's own hook, e.g. /_sandbox/jetshop/orders,
                                     /_sandbox/jetshop/generate, /_sandbox/visma/articles (see
                                     each system's module docstring)

Faults (random at rate `faults`, or scripted): 500, 502 and 429 answer at once and change
nothing; "timeout" sleeps `timeout_sleep_s` and then does the work (the client has given up);
"drop" does the work and closes the connection without an answer. OAuth token endpoints are
spared: a lost refresh would strand a connection for good, which no retry logic can fix.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shops.sandbox.state import Request, Response, SandboxOptions, SandboxState
from shops.sandbox.systems import all_systems

logger = logging.getLogger(__name__)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        options: SandboxOptions | None = None,
        *,
        quiet: bool = True,
    ) -> None:
        self.state = SandboxState(options or SandboxOptions(), all_systems())
        self.quiet = quiet
        self._thread: threading.Thread | None = None
        super().__init__((host, port), SandboxHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class SandboxHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open, as real APIs do; every response carries Content-Length.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for the
    # client's delayed ACK (~40 ms) on every small response.
    disable_nagle_algorithm = True
    server: SandboxServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if not self.server.quiet:
            super().log_message(format, *args)

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = parts.path

        if path.startswith("/_sandbox/") or path == "/_sandbox":
            self._write(self._control(path, query, body))
            return

        system_name, _, rest = path.lstrip("/").partition("/")
        system = state.systems.get(system_name)
        if system is None:
            self._write(Response(404, {"error": f"No system {system_name!r} in the sandbox"}))
            return
        request = Request(self.command, "/" + rest, query, headers, body)
        if state.options.latency_ms:
            time.sleep(state.options.latency_ms / 1000)

        fault = None if system.is_token_path(request.path) else state.pick_fault(self.command, path)
        if fault in ("500", "502", "429"):
            self._log(system_name, request, fault, body)
            self._write(system.fault_response(fault, state))
            return
        if fault == "timeout":
            time.sleep(state.options.timeout_sleep_s)
        try:
            response = system.handle(request, state)
        except Exception:  # a sandbox bug should read as a 500, not hang the client
            logger.exception("sandbox %s failed on %s %s", system_name, self.command, path)
            response = system.fault_response("500", state)
        self._log(system_name, request, str(response.status), body)
        if fault == "drop":
            # The work is done; the answer is lost on the way back.
            self.close_connection = True
            return
        self._write(response)

    def _log(self, system: str, request: Request, outcome: str, body: bytes) -> None:
        entry: dict[str, Any] = {
            "system": system,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "outcome": outcome,
            "at": time.time(),
        }
        # Token requests carry secrets; everything else is fake data that tests want to inspect.
        if body and not self.server.state.systems[system].is_token_path(request.path):
            try:
                entry["body"] = json.loads(body)
            except ValueError:
                entry["body"] = body.decode("utf-8", "replace")[:4096]
        self.server.state.log_request(entry)

    def _control(self, path: str, query: dict[str, str], body: bytes) -> Response:
        state = self.server.state
        action = path.removeprefix("/_sandbox").strip("/")
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return Response(400, {"error": "The body must be JSON."})
        try:
            if self.command == "GET" and action == "state":
                return Response(200, state.snapshot(query.get("system", "")))
            if self.command == "GET" and action == "requests":
                with state.lock:
                    entries = list(state.request_log)
                wanted = query.get("system")
                return Response(200, [e for e in entries if not wanted or e["system"] == wanted])
            if self.command == "POST" and action == "reset":
                state.reset()
                return Response(200, {"reset": True})
            if self.command == "POST" and action == "config":
                return Response(200, vars(state.configure(**payload)))
            if self.command == "POST" and action == "faults":
                state.script_faults(
                    payload.get("method", ""),
                    payload.get("path", "/"),
                    list(payload.get("faults", [])),
                )
                return Response(200, {"scripted": len(state.scripted)})
            system_name, _, system_action = action.partition("/")
            if self.command == "POST" and system_name in state.systems:
                return state.systems[system_name].control(system_action, payload, state)
        except (TypeError, ValueError) as exc:
            return Response(400, {"error": str(exc)})
        return Response(404, {"error": f"No sandbox endpoint {self.command} {path}"})

    def _write(self, response: Response) -> None:
        content, content_type = response.encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            for name, value in response.headers.items():
                if name.lower() != "content-type":
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. after a "timeout" fault): nobody is listening.
            self.close_connection = True


def serve(host: str, port: int, options: SandboxOptions, *, quiet: bool = False) -> SandboxServer:
    """A started server (in a daemon thread), for code that wants one running in-process."""
    return SandboxServer(host, port, options, quiet=quiet).start_in_thread()
