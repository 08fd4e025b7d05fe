"""The chaos run's own PostgreSQL cluster and Redis server, in a temporary directory on free ports.

The machine's shared PostgreSQL and Redis are never touched: restarting those would pull the
floor from under everybody else. Ours can be crashed and restarted at will, and on a fresh CI
machine they need nothing but the Debian packages. initdb refuses to run as root, so as root the
server runs as the `postgres` user (runuser) in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps them side by side)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin)")


class Postgres:
    """A throw-away cluster: trust authentication, listening on 127.0.0.1:port only."""

    def __init__(self, root: Path) -> None:
        self.bin = _postgres_bin()
        self.root = root / "postgres"
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.root.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/chaos"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd="/")

    def _pg_ctl(self, action: str, *extra: str, check: bool = True) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            *extra,
            check=check,
        )

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self._pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos")

    def restart(self) -> float:
        """A crash and a recovery: immediate shutdown (no checkpoint, every connection cut),
        then start. Returns the seconds the database was away."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", "immediate")
        return time.monotonic() - started

    def stop(self) -> None:
        if self.data.exists():
            self._pg_ctl("stop", "-m", "immediate", check=False)


class Redis:
    """A Redis that keeps nothing on disk: a restart forgets the whole queue, as a lost machine
    or a failover without persistence would."""

    def __init__(self, root: Path) -> None:
        self.root = root / "redis"
        self.root.mkdir()
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True
        )

    def answers(self) -> bool:
        return self._cli("ping").stdout.strip() == "PONG"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.root),
                "--pidfile",
                str(self.root / "redis.pid"),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            check=True,
        )
        wait_until(self.answers, timeout=20, what="Redis")

    def restart(self) -> float:
        """SHUTDOWN NOSAVE and start again: everything queued is gone."""
        started = time.monotonic()
        self.stop()
        wait_until(lambda: not self.answers(), timeout=20, what="Redis shutdown")
        self.start()
        return time.monotonic() - started

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._cli("shutdown", "nosave")
