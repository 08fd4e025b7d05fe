"""Throwaway databases for the benchmarks: a SQLite file under var/, and a database of its own on
PostgreSQL when one answers (DATABASE_URL's server, or 127.0.0.1:5432 as postgres). Each database
is measured in a child process, since Django is set up once per process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_server(explicit: str = "") -> str:
    """The PostgreSQL server to use, or "" when there is none."""
    if explicit:
        return explicit
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return LOCAL_POSTGRES if _answers("127.0.0.1", 5432) else ""


def targets(label: str, postgres: str = "") -> list[tuple[str, str]]:
    """(name, server URL) of every database to measure on: SQLite always, PostgreSQL if any."""
    VAR.mkdir(exist_ok=True)
    found = [("SQLite", f"sqlite:///{VAR / f'bench-{label}-{os.getpid()}.sqlite3'}")]
    server = postgres_server(postgres)
    if server:
        found.append(("PostgreSQL", server))
    else:
        print("(no PostgreSQL answered at 127.0.0.1:5432; SQLite only)")
    return found


@contextmanager
def throwaway(name: str, server: str, label: str) -> Iterator[str]:
    """A database URL of our own on `server` (a fresh file for SQLite), removed afterwards."""
    if name == "SQLite":
        try:
            yield server
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{urlsplit(server).path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    database = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{database}"))
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run_child(
    script: str, database_url: str, *arguments: str, env: dict[str, str] | None = None
) -> Any:
    """Run `script --child DATABASE_URL ARGUMENTS…`; return the JSON of its last stdout line.
    Its stderr goes straight through, so progress shows."""
    out = subprocess.run(
        [sys.executable, script, "--child", database_url, *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def setup_django(database_url: str, *, migrate: bool = True) -> None:
    """In a child: Django on `database_url`, migrated, with warnings only."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrator.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    from django.core.management import call_command

    logging.disable(logging.WARNING)
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


class QueryLog:
    """Every SQL statement of what runs inside `with connection.execute_wrapper(log):`, with its
    time in ms. (CaptureQueriesContext would lose them: a request closes SQLite's connection.)"""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - started) * 1000, sql))


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)
