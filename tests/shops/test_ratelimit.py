"""The shared rate limiter: never over the limit however many workers ask, fair between
customers, on the database and on Redis, and honoured by the clients."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connection as db_connection

from shops.clients import ratelimit
from shops.clients.errors import RateLimited
from shops.clients.ratelimit import TOTAL, DatabaseBackend, Limit, RedisBackend, decide
from shops.clients.visma import VismaClient
from shops.models import Connection, RateLimitBucket
from shops.sandbox.demo_data import NORRSKEN

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
# 20 requests per second, counted in tenths: small enough to hit in a test, in well under 2 s.
SMALL = Limit(requests=20, per_seconds=1.0, slices=10)


# --- the rule ------------------------------------------------------------------------------------


def test_a_lone_customer_gets_the_whole_limit_but_only_its_pace_per_slice():
    usage = {7: {TOTAL: 2, "a": 2}}

    assert not decide(usage, 7, "a", SMALL)  # 2 of 20 per slice of ten: the pace is used up
    assert decide(usage, 8, "a", SMALL)


def test_when_a_second_customer_comes_the_first_is_held_to_half():
    usage = {n: {TOTAL: 2, "a": 2} for n in range(1, 7)}  # "a" has used 12 of 20

    assert decide(usage, 7, "a", SMALL)  # alone: within its share
    usage[7] = {TOTAL: 1, "b": 1}
    assert not decide(usage, 8, "a", SMALL)  # 12 ≥ 20 / 2
    assert decide(usage, 8, "b", SMALL)


def test_the_window_is_never_overfilled_whoever_asks():
    usage = {n: {TOTAL: 2, f"c{n}": 2} for n in range(0, 10)}  # 20 in the window, ten customers

    assert not decide(usage, 10, "newcomer", SMALL)
    assert decide(usage, 11, "newcomer", SMALL)  # slice 0 has left the window


# --- hammering it --------------------------------------------------------------------------------


def _hammer(
    backend: ratelimit.Backend,
    key: str,
    tenant: str,
    until: float,
    grants: list[tuple[float, str]],
    *,
    stop_after: int = 10**6,
    on_exit: Callable[[], None] = lambda: None,
) -> None:
    try:
        taken = 0
        while time.time() < until and taken < stop_after:
            wait = backend.try_acquire(key, tenant, SMALL)
            if wait:
                time.sleep(min(wait, 0.02))
                continue
            grants.append((time.time(), tenant))
            taken += 1
    finally:
        on_exit()


def _busiest_window(grants: list[tuple[float, str]], length: float) -> int:
    times = sorted(t for t, _ in grants)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - length:
            start += 1
        best = max(best, end - start + 1)
    return best


def _run_contest(backend: ratelimit.Backend, close: Callable[[], None]) -> dict[str, object]:
    """Customer a hammers with three workers; after 0.6 s customer b wants five requests."""
    key = f"test|{uuid.uuid4().hex}|/v2/articles"
    grants: list[tuple[float, str]] = []
    started = time.time()
    until = started + 1.8
    workers = [
        threading.Thread(
            target=_hammer, args=(backend, key, "a", until, grants), kwargs={"on_exit": close}
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.6)
    b_started = time.time()
    _hammer(backend, key, "b", until, grants, stop_after=5)
    b_done = time.time()
    for worker in workers:
        worker.join()
    return {"grants": grants, "b_waited": b_done - b_started, "elapsed": time.time() - started}


def _assert_fair_and_under_the_limit(result: dict[str, object]) -> None:
    grants = result["grants"]
    assert isinstance(grants, list)
    # Under the limit in every window (a few ms of slack: the times are taken after the grant).
    assert _busiest_window(grants, SMALL.per_seconds - 0.02) <= SMALL.requests
    # a was not starved either (half the limit leaves room for a machine busy with other work).
    assert len([g for g in grants if g[1] == "a"]) >= SMALL.requests // 2
    # b got its five within a few slices, although a had been using the whole limit.
    assert [g[1] for g in grants].count("b") == 5
    assert result["b_waited"] < 1.2  # without fairness b would wait for a's whole window


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_on_the_database_stay_under_the_limit_and_a_burst_does_not_starve_anyone():
    # Each worker thread has its own database connection, closed when it is done.
    result = _run_contest(DatabaseBackend(), lambda: db_connection.close())

    _assert_fair_and_under_the_limit(result)
    assert RateLimitBucket.objects.count() == 1


@pytest.fixture
def redis_backend() -> Iterator[RedisBackend]:
    import redis

    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    backend = RedisBackend(REDIS_TEST_URL, prefix=prefix)
    try:
        backend.redis.ping()
    except redis.RedisError:
        pytest.skip("No Redis at 127.0.0.1:6379 (CI always has one)")
    yield backend
    for name in backend.redis.scan_iter(f"{prefix}:*"):
        backend.redis.delete(name)


def test_workers_on_redis_stay_under_the_limit_and_a_burst_does_not_starve_anyone(redis_backend):
    result = _run_contest(redis_backend, lambda: None)

    _assert_fair_and_under_the_limit(result)


def test_a_429_holds_back_every_worker_on_redis(redis_backend):
    redis_backend.block("visma|x|/v2/orders", 0.3)

    assert 0.1 < redis_backend.try_acquire("visma|x|/v2/orders", "a", SMALL) <= 0.3
    assert redis_backend.try_acquire("visma|x|/v2/customers", "a", SMALL) == 0


def test_a_redis_limiter_that_cannot_be_reached_lets_requests_through():
    backend = RedisBackend("redis://127.0.0.1:9/0")  # nothing listens on the discard port

    assert backend.try_acquire("visma|x|/v2/orders", "a", SMALL) == 0


# --- the clients ---------------------------------------------------------------------------------


@pytest.fixture
def database_limiter() -> Iterator[DatabaseBackend]:
    backend = DatabaseBackend()
    ratelimit.use_backend(backend)
    yield backend
    ratelimit.use_backend(None)


@pytest.mark.django_db
def test_a_client_waits_for_its_turn_instead_of_being_throttled(
    visma_connection, sandbox, settings, database_limiter
):
    settings.RATE_LIMITS = {"visma": {"requests": 4, "per_seconds": 1.0, "slices": 4}}
    sandbox.configure(rate_limit=4, rate_window_s=1)
    client = VismaClient(visma_connection)
    client.default_terms_of_payment_id()  # the token is fetched before the clock starts
    started = time.monotonic()

    found = [client.find_article(n) for n in ("KOK-1001", "KOK-1002", "KOK-1003", "FRAKT")]

    assert all(found)
    assert time.monotonic() - started >= 0.4  # one per quarter second on /v2/articles
    assert sandbox.state()["visma"]["companies"][NORRSKEN]["throttled"] == 0


@pytest.mark.django_db
def test_a_turn_too_far_away_is_rate_limited_before_anything_is_sent(
    visma_connection, sandbox, settings, database_limiter
):
    settings.RATE_LIMITS = {"visma": {"requests": 1, "per_seconds": 30.0, "slices": 1}}
    client = VismaClient(visma_connection)
    client.RATE_LIMIT_MAX_WAIT = 0.5
    client.find_article("FRAKT")
    sent = len(sandbox.requests("visma"))

    with pytest.raises(RateLimited) as raised:
        client.find_article("KOK-1001")

    assert raised.value.exchange is None and raised.value.retry_after > 0.5
    assert len(sandbox.requests("visma")) == sent


@pytest.mark.django_db
def test_a_429_from_visma_holds_back_the_endpoint_for_every_worker(
    visma_connection, sandbox, database_limiter
):
    client = VismaClient(visma_connection)
    client.find_article("FRAKT")
    sandbox.fail_next("GET", "/visma/v2/articles", "429")

    client.find_article("KOK-1001")  # waits out Retry-After: 1 and gets it

    bucket = RateLimitBucket.objects.get(key=f"visma|demo-{NORRSKEN}|/v2/articles")
    assert bucket.state["blocked_until"] > time.time() - 1
    assert Connection.objects.filter(pk=visma_connection.pk).exists()
