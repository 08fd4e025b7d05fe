#!/usr/bin/env python
"""Run the demo: the web server, a django-q2 worker and the sandbox, as one foreground command.

`make demo` migrates and seeds first, then runs this. Each process gets its own process group, so
Ctrl-C reaches only this supervisor, which stops the three in an orderly way (SIGINT to each group,
as a terminal would, then SIGTERM, then SIGKILL for anything still alive). If one of them dies on
its own, the others are stopped too and the exit status is non-zero, so a broken demo never looks
half alive.

Ports come from WEB_PORT (8000) and SANDBOX_PORT (8765); SANDBOX_URL is set to match.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 90.0
STOP_GRACE = 15.0  # qcluster lets a running task finish; give it a moment before SIGTERM.

stop_signal: int | None = None
force_stop = False


def on_signal(signum: int, _frame: object) -> None:
    global stop_signal, force_stop
    if stop_signal is not None:
        force_stop = True  # a second Ctrl-C while stopping: the user wants out now
    stop_signal = signum


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def http_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except (OSError, ValueError):
        return False
    return True


def _die_with_parent_hook():
    """Linux only: if this supervisor is killed outright (SIGKILL), its children get SIGTERM
    instead of living on as orphans holding the ports. libc is loaded here, before any fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


DIE_WITH_PARENT = _die_with_parent_hook()


class Child:
    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=DIE_WITH_PARENT,  # noqa: PLW1509 (all children fork before any thread)
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)

    def start_output(self) -> None:
        # Only after every child is forked: forking while threads run is asking for trouble.
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        prefix = f"[{self.name}] ".encode()
        for line in iter(self.process.stdout.readline, b""):
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        # The whole group: runserver's autoreloader child, the qcluster's worker processes.
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def flush_output(self) -> None:
        if self._pump.is_alive():
            self._pump.join(timeout=2)


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def stop_all(children: list[Child]) -> None:
    for signum, grace in (
        (signal.SIGINT, STOP_GRACE),
        (signal.SIGTERM, 5.0),
        (signal.SIGKILL, 5.0),
    ):
        running = [child for child in children if child.alive()]
        if not running:
            break
        if force_stop and signum != signal.SIGKILL:
            continue
        for child in running:
            child.signal_group(signum)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(child.alive() for child in running):
            if force_stop and signum != signal.SIGKILL:
                say("Forcing the stop.")
                break
            time.sleep(0.1)
    for child in children:
        # Reap and catch leftovers in each group (e.g. a worker whose parent already exited).
        child.signal_group(signal.SIGKILL)
        try:
            child.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        child.flush_output()


def first_dead(children: list[Child]) -> Child | None:
    return next((child for child in children if not child.alive()), None)


def main() -> int:
    web_port = int(os.environ.get("WEB_PORT", "8000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "8765"))
    for name, port in (("WEB_PORT", web_port), ("SANDBOX_PORT", sandbox_port)):
        if port_in_use(port):
            say(f"Port {port} on {HOST} is already in use; stop that process or set {name}.")
            return 2

    env = dict(os.environ)
    env["SANDBOX_URL"] = f"http://{HOST}:{sandbox_port}"
    env["PYTHONUNBUFFERED"] = "1"  # output is piped; keep the log lines live

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    children: list[Child] = []
    try:
        # --quiet: the worker and web logs say what happens; every sandbox request would drown them.
        children.append(Child("sandbox", ["sandbox", "--port", str(sandbox_port), "--quiet"], env))
        children.append(Child("worker", ["qcluster"], env))
        children.append(Child("web", ["runserver", f"{HOST}:{web_port}"], env))
        for child in children:
            child.start_output()

        web_url = f"http://{HOST}:{web_port}/"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (http_answers(web_url + "healthz") and port_in_use(sandbox_port)):
            if stop_signal is not None:
                return stop_and_exit(children, 0)
            dead = first_dead(children)
            if dead:
                say(f"{dead.name} exited with status {dead.process.returncode} while starting.")
                return stop_and_exit(children, 1)
            if time.monotonic() > deadline:
                say(
                    f"Nothing answered on {web_url} and port {sandbox_port} within "
                    f"{STARTUP_TIMEOUT:.0f} s."
                )
                return stop_and_exit(children, 1)
            time.sleep(0.3)

        print(
            "\n"
            "  The demo is running.\n"
            f"    Admin:    {web_url}admin/\n"
            "    Login:    admin / admin\n"
            f"    Sandbox:  http://{HOST}:{sandbox_port}/_sandbox/state\n"
            "    Worker:   django-q2 cluster (qcluster)\n"
            "  Press Ctrl-C to stop all three.\n",
            flush=True,
        )

        while stop_signal is None:
            dead = first_dead(children)
            if dead:
                say(
                    f"{dead.name} exited with status {dead.process.returncode}; "
                    "stopping the others."
                )
                return stop_and_exit(children, 1)
            time.sleep(0.3)
        return stop_and_exit(children, 0)
    except BaseException:
        stop_all(children)
        raise


def stop_and_exit(children: list[Child], status: int) -> int:
    say("Stopping the web server, the worker and the sandbox…")
    stop_all(children)
    say("Stopped.")
    return status


if __name__ == "__main__":
    sys.exit(main())
