"""`make chaos`: the engine under faults, proving that nothing is lost or booked twice.

Starts its own PostgreSQL and Redis (chaos/infra.py), the sandbox at --faults 0.3 in its own
process, and several `qcluster` workers on them; feeds over a thousand shop orders and payout
lines of three merchants (chaos/world.py); meanwhile kills workers with SIGKILL (and starts them
again), crashes and restarts the database once and Redis once, and expires the Visma tokens
once. Then it acts as support staff: retries every failed job until the work is done. Finally it
compares the sandbox's record of what Visma received with the shops, the gateways and the
ledger (chaos/verdict.py), prints the figures, and exits non-zero on any duplicate, anything
lost or anything stuck.

    PYTHONPATH=. .venv/bin/python chaos/run.py [--scale short|full|large] [--seed N]

CHAOS_SCALE=short is the CI form (about 300 orders and payout lines, 2 qclusters, 3.5 minutes).
docs/CHAOS.md says what it checks, what it found and the figures of a run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.infra import Postgres, Redis, free_port, wait_until  # noqa: E402

FAULT_RATE = 0.3


@dataclasses.dataclass(frozen=True)
class Scale:
    orders_per_shop: int  # generated per Jetshop shop, on top of the demo orders
    payouts_per_gateway: int  # generated per gateway (Klarna, Nets, Svea)
    lines_per_payout: int
    waves: int  # orders and payouts arrive in this many waves during the chaos
    clusters: int  # qcluster processes
    workers_per_cluster: int
    kills: int  # SIGKILLs of a whole qcluster, at random moments
    chaos_seconds: int  # how long faults are injected into the infrastructure
    support_seconds: int  # how long support may take afterwards before it counts as stuck
    stale_after: int  # seconds of silence after which a running job is taken over


SCALES = {
    # The CI form: about three minutes.
    "short": Scale(
        orders_per_shop=50,
        payouts_per_gateway=2,
        lines_per_payout=6,
        waves=2,
        clusters=2,
        workers_per_cluster=3,
        kills=1,
        chaos_seconds=45,
        support_seconds=360,
        stale_after=20,
    ),
    # `make chaos`: at most 15 minutes on a 2-core machine (the fault waits set the pace).
    "full": Scale(
        orders_per_shop=300,
        payouts_per_gateway=4,
        lines_per_payout=25,
        waves=4,
        clusters=4,
        workers_per_cluster=2,
        kills=8,
        chaos_seconds=300,
        support_seconds=540,
        stale_after=20,
    ),
    # Thousands of orders and payout lines: about half an hour here, for a release or a change
    # to the engine's locking, not for every push.
    "large": Scale(
        orders_per_shop=1000,
        payouts_per_gateway=8,
        lines_per_payout=45,
        waves=6,
        clusters=4,
        workers_per_cluster=2,
        kills=12,
        chaos_seconds=600,
        support_seconds=2400,
        stale_after=20,
    ),
}


class Cluster:
    """One `manage.py qcluster` (a sentinel, its workers, pusher, monitor and scheduler) in its
    own process group, so a SIGKILL takes all of it at once, as a lost machine would."""

    def __init__(self, number: int, env: dict[str, str], logs: Path) -> None:
        self.number, self.env, self.logs = number, env, logs
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.logs / f"worker-{self.number}.log", "a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclasses.dataclass
class Figures:
    orders_fed: int = 0
    lines_fed: int = 0
    workers_killed: int = 0
    worker_restarts: int = 0
    workers_died: int = 0  # exited by themselves (e.g. while the database was away)
    database_restarts: int = 0
    redis_restarts: int = 0
    token_expiries: int = 0
    support_retries: int = 0
    events: list[str] = dataclasses.field(default_factory=list)


class ChaosRun:
    def __init__(self, scale_name: str, seed: int, tmp: Path) -> None:
        self.scale_name, self.scale, self.tmp = scale_name, SCALES[scale_name], tmp
        self.rng = random.Random(seed)
        self.seed = seed
        self.figures = Figures()
        self.started = time.monotonic()
        self.postgres = Postgres(tmp)
        self.redis = Redis(tmp)
        self.sandbox_port = free_port()
        self.sandbox_process: subprocess.Popen | None = None
        self.clusters: list[Cluster] = []
        self.last_progress = 0.0
        self.window: dict[str, str] = {}

    def report_progress(self) -> None:
        from chaos import world

        if time.monotonic() - self.last_progress >= 15:
            self.last_progress = time.monotonic()
            with contextlib.suppress(Exception):  # the database may be away
                self.say(world.progress())

    def say(self, text: str) -> None:
        print(f"[chaos {time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def event(self, text: str) -> None:
        self.figures.events.append(f"{time.monotonic() - self.started:.0f}s {text}")
        self.say(text)

    # --- setting up -----------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "Q_CLUSTER_NAME": "chaos",
            "Q_WORKERS": str(self.scale.workers_per_cluster),
            "Q_POLL": "0.3",
            "SANDBOX_URL": f"http://127.0.0.1:{self.sandbox_port}",
            # A "timeout" fault stalls 0.75 s; the clients give up after 0.6 s (a lost answer)
            # and search again 0.6 s later at the earliest, when the write has landed.
            "HTTP_TIMEOUT": "0.6",
            "SYNC_RETRY_BACKOFF": "0.05",
            "SYNC_STALE_AFTER": str(self.scale.stale_after),
            "LOG_LEVEL": "WARNING",
            "DEBUG": "True",
            "PYTHONPATH": str(ROOT),
        }

    def start_services(self) -> dict[str, str]:
        self.say(f"own PostgreSQL ({self.postgres.bin}) on port {self.postgres.port}")
        self.postgres.start()
        self.say(f"own Redis on port {self.redis.port}")
        self.redis.start()
        env = self.environment()
        self.say(f"sandbox on port {self.sandbox_port}, --faults {FAULT_RATE}")
        log = open(self.tmp / "sandbox.log", "w")
        self.sandbox_process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "sandbox",
                "--port",
                str(self.sandbox_port),
                "--faults",
                str(FAULT_RATE),
                "--timeout-sleep",
                "0.75",
                "--seed",
                str(self.seed),
                "--quiet",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        os.environ.update(env)
        return env

    def stop_everything(self) -> None:
        for cluster in self.clusters:
            cluster.kill(signal.SIGKILL)
        if self.sandbox_process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.sandbox_process.pid, signal.SIGKILL)
            self.sandbox_process.wait()
        self.redis.stop()
        self.postgres.stop()

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> int:
        env = self.start_services()
        import django

        django.setup()
        from django.core.management import call_command

        from chaos import world
        from chaos.verdict import judge

        self.say("migrating the run's database")
        call_command("migrate", verbosity=0)
        sandbox = world.Sandbox(env["SANDBOX_URL"])
        wait_until(_answers(sandbox), timeout=60, what="the sandbox")
        integrations = world.set_up(sandbox)
        self.window = world.payout_window(4 + self.scale.payouts_per_gateway)
        for number in range(self.scale.clusters):
            cluster = Cluster(number, env, self.tmp)
            cluster.start()
            self.clusters.append(cluster)
        self.say(
            f"{len(self.clusters)} qcluster(s) × {self.scale.workers_per_cluster} worker(s) on "
            f"{len(integrations)} integrations of 3 merchants"
        )
        self.chaos(sandbox, integrations)
        done = self.support(sandbox, integrations, judge)
        verdict = judge(sandbox)
        state = sandbox.state()
        return self.report(verdict, state, done)

    def plan(self) -> list[tuple[float, str]]:
        """When each disturbance happens, in seconds from the start of the chaos."""
        span = self.scale.chaos_seconds
        events = [(self.rng.uniform(0.1, 0.9) * span, "kill") for _ in range(self.scale.kills)]
        events += [(0.30 * span, "database"), (0.55 * span, "redis"), (0.45 * span, "token")]
        return sorted(events)

    def chaos(self, sandbox: Any, integrations: list[Any]) -> None:
        from chaos import world

        scale = self.scale
        span = scale.chaos_seconds
        waves = [span * 0.7 * wave / scale.waves for wave in range(scale.waves)]
        events = self.plan()
        begun = time.monotonic()
        while True:
            now = time.monotonic() - begun
            if waves and now >= waves[0]:
                waves.pop(0)
                self.feed(sandbox, integrations, wave=scale.waves - len(waves))
            while events and now >= events[0][0]:
                _at, what = events.pop(0)
                self.disturb(what, sandbox)
            self.look_after_clusters()
            self.report_progress()
            if now >= span and not waves and not events:
                return
            with contextlib.suppress(Exception):  # the database may be away: try next round
                if self.rng.random() < 0.2:
                    # The schedule and the webhooks: new work is asked for all the time.
                    world.enqueue(self.rng.choice(integrations), window=self.window)
            time.sleep(1)

    def feed(self, sandbox: Any, integrations: list[Any], *, wave: int) -> None:
        from chaos import world

        scale = self.scale
        orders = lines = 0
        for shop in world.SHOPS:
            orders += sandbox.generate_orders(
                shop, scale.orders_per_shop // scale.waves, seed=self.seed * 100 + wave
            )
        payouts = max(1, scale.payouts_per_gateway // scale.waves)
        for gateway in world.GATEWAYS:
            lines += sandbox.generate_payouts(gateway, payouts, scale.lines_per_payout)
        self.figures.orders_fed += orders
        self.figures.lines_fed += lines
        self.say(f"wave {wave}: {orders} new shop orders, {lines} new payout transactions")
        for integration in integrations:
            try:
                world.enqueue(integration, window=self.window)
            except Exception as exc:  # the database may be restarting: the schedule comes again
                self.say(f"could not queue a job for {integration}: {type(exc).__name__}")

    def disturb(self, what: str, sandbox: Any) -> None:
        from chaos.world import SHOPS

        if what == "kill":
            cluster = self.rng.choice([c for c in self.clusters if c.alive()] or self.clusters)
            cluster.kill(signal.SIGKILL)
            self.figures.workers_killed += 1
            self.event(f"SIGKILL qcluster {cluster.number} (all its processes)")
            time.sleep(self.rng.uniform(0.5, 3))
            cluster.start()
            self.figures.worker_restarts += 1
        elif what == "database":
            away = self.postgres.restart()
            self.figures.database_restarts += 1
            self.event(f"PostgreSQL crashed (immediate shutdown) and restarted in {away:.1f}s")
        elif what == "redis":
            away = self.redis.restart()
            self.figures.redis_restarts += 1
            self.event(f"Redis restarted without saving (queue lost) in {away:.1f}s")
        elif what == "token":
            for tenant in (*SHOPS, "kaffebonan"):
                sandbox.expire_visma_tokens(tenant)
            self.figures.token_expiries += 1
            self.event("every Visma access token expired early")

    def look_after_clusters(self) -> None:
        for cluster in self.clusters:
            if not cluster.alive():
                self.figures.workers_died += 1
                self.event(f"qcluster {cluster.number} had died by itself; starting it again")
                cluster.start()
                self.figures.worker_restarts += 1

    def support(self, sandbox: Any, integrations: list[Any], judge: Any) -> bool:
        """Support staff after the storm: retry what failed, run the integrations again, until
        the verdict is clean or time is up. True if it got there."""
        from chaos import world

        self.say("chaos over; support staff retry failed jobs until everything is through")
        deadline = time.monotonic() + self.scale.support_seconds
        while time.monotonic() < deadline:
            self.look_after_clusters()
            self.report_progress()
            try:
                retried = world.retry_failed_jobs()
                self.figures.support_retries += len(retried)
                if world.active_jobs() == 0:
                    verdict = judge(sandbox)
                    if verdict.complete:
                        return True
                    for integration in integrations:
                        world.enqueue(integration, window=self.window, trigger="manual")
            except Exception as exc:  # noqa: BLE001 (support keeps trying; the verdict decides)
                self.say(f"support could not act this round: {type(exc).__name__}: {exc}")
            time.sleep(3)
        return False

    # --- the figures ----------------------------------------------------------------------------

    def report(self, verdict: Any, state: dict[str, Any], done: bool) -> int:
        from django.db.models import Sum

        from integrator.models import SyncJob

        f = self.figures
        faults = state["faults_injected"]
        jobs = SyncJob.objects.all()
        attempts = jobs.aggregate(n=Sum("attempts"))["n"] or 0
        by_status = {s: jobs.filter(status=s).count() for s in SyncJob.Status.values}
        tokens = state["visma"]["token_requests"]
        elapsed = time.monotonic() - self.started
        rows = [
            ("scale", f"{self.scale_name} (seed {self.seed})"),
            ("orders to transfer", f"{verdict.orders} ({f.orders_fed} generated in the run)"),
            ("payouts / payout lines", f"{verdict.payouts} / {verdict.payout_lines}"),
            (
                "operations attempted",
                f"{verdict.orders + verdict.payout_lines} "
                f"(orders + payout lines); {len(jobs)} jobs, {attempts} job attempts",
            ),
            (
                "Visma create calls",
                sum(sum(c.values()) for c in state["visma"]["create_calls"].values()),
            ),
            ("faults injected", f"{sum(faults.values())} {dict(sorted(faults.items()))}"),
            ("workers killed (SIGKILL)", f.workers_killed),
            ("worker restarts", f"{f.worker_restarts} ({f.workers_died} died by themselves)"),
            ("database restarts", f.database_restarts),
            ("Redis restarts", f.redis_restarts),
            ("Visma token expiries", f"{f.token_expiries} (token requests {tokens})"),
            ("support retries", f.support_retries),
            ("jobs by status", {k: v for k, v in by_status.items() if v}),
            ("orders in Visma", f"{verdict.orders_in_visma} of {verdict.orders}"),
            ("payout lines booked", f"{verdict.lines_booked} of {verdict.payout_lines}"),
            ("vouchers (balanced)", f"{verdict.vouchers} ({verdict.unbalanced} unbalanced)"),
            ("duplicates", verdict.duplicates),
            ("lost", verdict.lost),
            ("stuck", verdict.stuck),
            ("took", f"{elapsed:.0f} s on {platform.node()} ({os.cpu_count()} CPUs)"),
        ]
        print("\n==== chaos: figures ====")
        for name, value in rows:
            print(f"{name:26} {value}")
        for line in f.events:
            print(f"  event: {line}")
        for problem in verdict.worst_problems():
            print(f"  PROBLEM: {problem}")
        if invalid := tokens.get("invalid_grant"):
            print(f"  PROBLEM: {invalid} refresh(es) refused: a merchant would have to reconnect")
        ok = done and verdict.complete and not tokens.get("invalid_grant")
        print("chaos: PASSED" if ok else "chaos: FAILED")
        return 0 if ok else 1


def _answers(sandbox: Any):
    def check() -> bool:
        try:
            sandbox.state("options")
            return True
        except Exception:  # noqa: BLE001 (not up yet)
            return False

    return check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=SCALES, default=os.environ.get("CHAOS_SCALE", "full"))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "1")))
    parser.add_argument("--keep", action="store_true", help="keep the temp directory and logs")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrator.settings")
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    tmp.chmod(0o755)  # the postgres user must reach its directory inside
    run = ChaosRun(args.scale, args.seed, tmp)

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return run.run()
    finally:
        run.stop_everything()
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    sys.exit(main())
