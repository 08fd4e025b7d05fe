"""Benchmark: how much of Visma's request limit the shared limiter uses, and how fairly, while
one merchant backfills thousands of orders and another has a single order to send.

Visma allows 600 requests a minute per API client and endpoint, and the whole platform is one
API client. The sandbox is given that rate, time-compressed by default to 100 requests per 10 s
(the same 10 a second, a six times shorter window, so the run takes seconds instead of minutes;
--limit 600 --window 60 runs the real one). Worker processes then run real order jobs through
the engine against it:

- merchant A has --workers integrations (one per worker process) with thousands of orders
  waiting, all to one Visma company: a backfill that would take every request it can get;
- merchant B, on the same Visma API client, gets one new order --arrive-after seconds in (once
  A has filled the window) and a fourth worker process transfers it.

Reported per limiter (the database one, and Redis when it answers): the share of the limit A
and B together used on the busiest endpoint, the most requests in any one window there, the
429s Visma answered (must be 0), and B's wait: its job's duration beside the backfill against
the same one-order job with nothing else running, measured in the same run.

    PYTHONPATH=. .venv/bin/python bench/rate_limit.py [--limit N] [--window S] [--seconds S]
        [--workers N] [--orders N] [--arrive-after S]

Standalone: a throwaway database on PostgreSQL when one answers (else SQLite under var/), the
sandbox in-process on a free port, Redis at REDIS_URL or 127.0.0.1:6379/13 under a prefix of
its own (removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._databases import setup_django, targets, throwaway  # noqa: E402
from bench._results import record  # noqa: E402
from bench._shop_world import (  # noqa: E402
    add_orders,
    jetshop_orders,
    merchant,
    orders_integration,
    sandbox_connection,
)

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the backfill run")
    parser.add_argument("--workers", type=int, default=3, help="backfill worker processes")
    parser.add_argument("--orders", type=int, default=2000, help="orders waiting in the backfill")
    parser.add_argument("--arrive-after", type=float, default=15.0, help="B's order, seconds in")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    name, server = targets("ratelimit")[-1]  # PostgreSQL when there is one
    with throwaway(name, server, "ratelimit") as database:
        setup_django(database)
        results = run_all(database, args)
        from django.db import connections

        connections.close_all()
    limit_text = f"{args.limit} requests / {args.window:g} s per endpoint"
    for limiter, found in results:
        _report(limiter, found, args, limit_text, name)
    return 0


# --- the parent: the world, the sandbox, the runs -----------------------------------------------


def run_all(database: str, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    from django.conf import settings

    from shops.sandbox.server import SandboxServer
    from shops.sandbox.state import SandboxOptions

    settings.RATE_LIMITS = {"visma": None, "jetshop": None}  # the parent only sets things up
    options = SandboxOptions(rate_limit=args.limit, rate_window_s=args.window)
    sandbox = SandboxServer("127.0.0.1", 0, options)
    sandbox.start_in_thread()
    try:
        world = _world(sandbox.url, args.workers, args.orders)
        limiters = ["database"] + (["redis"] if _redis_answers() else [])
        results = []
        for limiter in limiters:
            if results:
                time.sleep(args.window + 1)  # the last run's windows empty out, here and there
            results.append((limiter, _run(limiter, database, sandbox.url, world, args)))
        return results
    finally:
        sandbox.stop()


def _world(root: str, workers: int, orders: int) -> dict[str, Any]:
    """A with `workers` integrations and `orders` orders waiting; B with one integration whose
    cursor is past all of them. Both on one Visma company, so one API client: one limit."""
    from shops.clients.registry import client_for

    backfill, single = merchant(), merchant()
    erp_a = sandbox_connection(backfill, "visma", root)
    client_for(erp_a).auth_headers()  # fetched once here: Visma rotates the refresh token
    erp_a.refresh_from_db()
    erp_b = sandbox_connection(single, "visma", root)
    erp_b.credentials = erp_a.credentials
    erp_b.save()
    a_integrations = [
        orders_integration(backfill, sandbox_connection(backfill, "jetshop", root), erp_a).pk
        for _ in range(workers)
    ]
    shop_b = sandbox_connection(single, "jetshop", root)
    b_integration = orders_integration(single, shop_b, erp_b).pk
    add_orders(root, jetshop_orders(orders, 2))
    return {"a": a_integrations, "b": b_integration, "shop_b": shop_b}


def _skip_to_now(integration_id: int, shop: Any) -> None:
    """B has been running for a long time: its cursor is past every order already there."""
    from integrator.models import Cursor
    from shops.clients.registry import client_for

    cursor, _ = Cursor.objects.get_or_create(
        integration_id=integration_id, connection=shop, entity="order"
    )
    for page in client_for(shop).iter_orders(cursor.value):
        cursor.value = page.next_cursor
    cursor.save()


def _run(
    limiter: str, database: str, root: str, world: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    from integrator.models import SyncJob

    # Jobs a previous run's workers left running when they were stopped.
    SyncJob.objects.filter(status__in=SyncJob.ACTIVE).update(status=SyncJob.Status.CANCELLED)
    common = {
        "database": database,
        "root": root,
        "limiter": limiter,
        "prefix": f"bench-ratelimit-{uuid.uuid4().hex[:8]}",
        "limit": args.limit,
        "window": args.window,
    }
    throttled_before = _throttled(root)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "requests.jsonl"
        # B alone first: its one order with nothing else running.
        _skip_to_now(world["b"], world["shop_b"])
        alone = _start(common, log, world["b"], "single", time.time() + 0.5)
        alone_result = json.loads(alone.communicate()[0].strip().splitlines()[-1])
        time.sleep(args.window + 1)  # B's requests leave the window
        _skip_to_now(world["b"], world["shop_b"])
        begin = time.time() + 6  # time for every worker to set Django up
        backfill = [_start(common, log, pk, "backfill", begin) for pk in world["a"]]
        single = _start(common, log, world["b"], "single", begin + args.arrive_after)
        beside_result = json.loads(single.communicate()[0].strip().splitlines()[-1])
        time.sleep(max(0.0, begin + args.seconds - time.time()))
        end = time.time()
        for process in backfill:
            process.terminate()
        for process in backfill:
            process.wait()
        sent = [json.loads(line) for line in log.read_text().splitlines() if line]
    if limiter == "redis":
        _clear_redis(common["prefix"])
    return {
        "alone": alone_result,
        "beside": beside_result,
        **_analyse(sent, begin, end, args),
        "throttled": _throttled(root) - throttled_before,
    }


def _start(common: dict[str, Any], log: Path, integration: int, role: str, at: float):  # type: ignore[no-untyped-def]
    task = {**common, "log": str(log), "integration": integration, "role": role, "at": at}
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", json.dumps(task)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _analyse(sent: list[list[Any]], begin: float, end: float, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Visma requests per endpoint during the run: the busiest endpoint's share of the limit
    and the most it saw in any one window."""
    during = [(t, endpoint) for t, _customer, endpoint, _status in sent if begin <= t <= end]
    per_endpoint = Counter(endpoint for _t, endpoint in during)
    busiest, count = per_endpoint.most_common(1)[0] if per_endpoint else ("-", 0)
    allowed = args.limit * (end - begin) / args.window
    return {
        "busiest": busiest,
        "share": 100 * count / allowed,
        "most_in_a_window": _most_in_window(
            [t for t, endpoint in during if endpoint == busiest], args.window
        ),
        "requests": len(during),
        "answered_429": sum(1 for row in sent if row[3] == 429),
    }


def _most_in_window(times: list[float], window: float) -> int:
    inside: deque[float] = deque()
    most = 0
    for moment in sorted(times):
        inside.append(moment)
        while inside[0] <= moment - window:
            inside.popleft()
        most = max(most, len(inside))
    return most


def _throttled(root: str) -> int:
    import requests

    return int(requests.get(f"{root}/_sandbox/state", timeout=10).json()["visma"]["throttled"])


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        print(f"(no Redis at {REDIS_URL}: the database limiter only)")
        return False


def _clear_redis(prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


def _report(
    limiter: str, found: dict[str, Any], args: argparse.Namespace, limit_text: str, database: str
) -> None:
    alone, beside = found["alone"]["seconds"], found["beside"]["seconds"]
    print(
        f"{limiter} limiter, {limit_text} ({args.limit * 60 / args.window:g}/min), "
        f"{args.workers} backfill workers + 1, {args.seconds:g} s:"
    )
    print(
        f"  {found['requests']} Visma requests; busiest endpoint {found['busiest']}: "
        f"{found['share']:.0f} % of the limit, at most {found['most_in_a_window']} in any "
        f"{args.window:g} s; 429 answers: {found['answered_429']} (sandbox: {found['throttled']})"
    )
    print(
        f"  B's one order: {beside:.2f} s beside the backfill, {alone:.2f} s alone "
        f"({found['beside']['status']}, {found['beside']['transferred']} transferred)"
    )
    setting = f"{limiter} limiter, {limit_text}"
    record(
        bench="rate_limit",
        what=f"Visma limit used by a backfill + one order, busiest endpoint ({setting})",
        figure=found["share"],
        unit="%",
        baseline=None,
        baseline_what=f"at most {found['most_in_a_window']} of {args.limit} in any window",
        database=database,
    )
    record(
        bench="rate_limit",
        what=f"HTTP 429 from Visma during the backfill ({setting})",
        figure=max(found["answered_429"], found["throttled"]),
        unit="",
        baseline=None,
        baseline_what="must be 0",
        database=database,
    )
    record(
        bench="rate_limit",
        what=f"one-order job of another merchant beside the backfill ({setting})",
        figure=beside,
        unit="s",
        baseline=alone,
        baseline_what="the same job with nothing else running",
        database=database,
    )


# --- a worker process: one job, every Visma request logged --------------------------------------


def worker(task: dict[str, Any]) -> int:
    setup_django(task["database"], migrate=False)
    from django.conf import settings

    from integrator import services
    from integrator.models import Integration, SyncJob
    from shops.clients import ratelimit
    from shops.clients.base import ApiClient, endpoint_of

    settings.RATE_LIMITS = {
        "visma": {"requests": task["limit"], "per_seconds": task["window"]},
        "jetshop": None,
    }
    if task["limiter"] == "redis":
        ratelimit.use_backend(ratelimit.RedisBackend(REDIS_URL, prefix=task["prefix"]))
    else:
        ratelimit.use_backend(ratelimit.DatabaseBackend())
    log = open(task["log"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (killed, not closed)
    send = ApiClient.send

    def logged(self, method, url, **kwargs):  # type: ignore[no-untyped-def]
        response = send(self, method, url, **kwargs)
        if self.connection.platform == "visma":
            line = [
                time.time(),
                self.connection.customer_id,
                endpoint_of(url),
                response.status_code,
            ]
            log.write(json.dumps(line) + "\n")
        return response

    ApiClient.send = logged  # type: ignore[method-assign]
    integration = Integration.objects.get(pk=task["integration"])
    time.sleep(max(0.0, task["at"] - time.time()))
    if task["role"] == "single":
        add_orders(task["root"], jetshop_orders(1, 2))
    job, _created = services.job_enqueue(
        integration=integration, kind=SyncJob.Kind.ORDERS, trigger="command", queue=False
    )
    started = time.perf_counter()
    services.job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    print(json.dumps({"seconds": seconds, "status": job.status, "transferred": job.transferred}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
