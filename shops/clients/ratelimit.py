"""Rate limits shared by every worker on every machine, and fair between customers.

Visma counts 600 requests per minute per API client and endpoint, and the whole platform is one
API client: every customer's jobs draw from the same 600. A limiter in process memory would let
ten workers send ten times the limit, so the counts live where all workers see them: Redis when
`settings.REDIS_URL` is set (one Lua script, atomic on the server), else the database (one row
per key, updated under a row lock).

The algorithm (the same in `decide()` and in the Lua script):

- The window (e.g. 60 s) is counted in `slices` slices (e.g. 12 × 5 s). A request is let through
  only while the current slice plus the N slices before it hold fewer than `requests`. That span
  is one slice longer than the window, so every window of the remote side's clock, wherever it
  starts, holds at most `requests`: we never depend on our slices lining up with theirs.
- Fair share: the customers that used the key within that span are "active"; none of them may
  use more than `requests / active` of it. A lone customer has it all.
- Pacing: no customer may use more than its share / N in one slice. This is what keeps one
  customer's burst from starving the next: without it, a customer alone at first could spend
  the whole window in one second and a newcomer would wait a minute for the window to slide.
  With it, capacity frees up slice by slice, the newcomer is active at once, the first customer
  is then over its (now halved) share and waits, and the newcomer gets its pace within a slice.

Why not a weighted token bucket per customer inside a global one? It needs every customer's
bucket refilled at a rate that depends on how many others are active, which is the same
bookkeeping as above plus floating-point refill state; the sliding slices give the same
guarantees (never over the limit, never more than a fair share, no starvation) with integer
counts that support staff can read. The price: capacity a customer reserves but does not use in
a window is lost for that window (the limiter is not work-conserving), and a customer stays
"active" for one window after its last request.

If Redis cannot be reached, the limiter lets the request through and logs it: the remote side's
own 429 (which every client honours) is the backstop, and a dead limiter must not stop every
integration. The database backend has no such mode: without the database nothing works anyway.

Call APIs outside `transaction.atomic()`: the database backend's row lock is held until the
outermost transaction ends, so a caller inside a long transaction would make other workers wait.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from shops.clients.errors import RateLimited

logger = logging.getLogger(__name__)

TOTAL = "*"  # the field/entry that holds a slice's total; customer keys never equal it


@dataclass(frozen=True)
class Limit:
    requests: int  # at most this many requests ...
    per_seconds: float  # ... in any window this long
    slices: int = 12  # counted in this many slices of the window

    @property
    def slice_seconds(self) -> float:
        return self.per_seconds / self.slices


def decide(usage: Mapping[int, Mapping[str, int]], current: int, tenant: str, limit: Limit) -> bool:
    """Whether `tenant` may send one more request now. `usage` maps a slice number to the
    counts in it ({TOTAL: n, tenant: n, …}); only slices current-N … current are looked at."""
    total = mine = mine_now = 0
    active = {tenant}
    for slice_no in range(current - limit.slices, current + 1):
        for who, count in usage.get(slice_no, {}).items():
            if who == TOTAL:
                total += count
                continue
            active.add(who)
            if who == tenant:
                mine += count
                if slice_no == current:
                    mine_now = count
    share = max(1, limit.requests // len(active))
    pace = max(1, math.ceil(share / limit.slices))
    return total < limit.requests and mine < share and mine_now < pace


class Backend(Protocol):
    def try_acquire(self, key: str, tenant: str, limit: Limit) -> float:
        """Count one request if it is allowed now and return 0; else return the seconds to
        wait before asking again (nothing is counted)."""
        ...

    def block(self, key: str, seconds: float) -> None:
        """The remote side answered 429: nobody sends on `key` for `seconds`."""
        ...


def _wait_for_next_slice(now: float, limit: Limit) -> float:
    return limit.slice_seconds - (now % limit.slice_seconds)


# --- database ----------------------------------------------------------------------------------


class DatabaseBackend:
    """One RateLimitBucket row per key holding {"slices": {n: {tenant: count}}, "blocked_until"}.
    Works on SQLite and PostgreSQL alike: the UPDATE that opens the transaction takes the write
    lock at once (SQLite's database lock, PostgreSQL's row lock), so two workers can never both
    read the same counts and both decide there is room."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def _ensure_bucket(self, key: str) -> None:
        from shops.models import RateLimitBucket

        if key in self._known:
            return
        try:
            with transaction.atomic():
                RateLimitBucket.objects.get_or_create(key=key)
        except IntegrityError:
            pass  # another worker created it between our look and our insert
        self._known.add(key)

    def try_acquire(self, key: str, tenant: str, limit: Limit) -> float:
        from shops.models import RateLimitBucket

        self._ensure_bucket(key)
        with transaction.atomic():
            now = time.time()
            touched = RateLimitBucket.objects.filter(key=key).update(updated_at=timezone.now())
            if not touched:
                # Gone since we last saw it (deleted, or a test's rollback): make it again. The
                # INSERT takes the same write lock the UPDATE would have.
                RateLimitBucket.objects.get_or_create(key=key)
            bucket = RateLimitBucket.objects.select_for_update().get(key=key)
            state: dict[str, Any] = bucket.state or {}
            blocked_until = float(state.get("blocked_until") or 0)
            if blocked_until > now:
                return blocked_until - now
            current = int(now // limit.slice_seconds)
            slices = {
                int(n): counts
                for n, counts in (state.get("slices") or {}).items()
                if int(n) >= current - limit.slices
            }
            if not decide(slices, current, tenant, limit):
                return _wait_for_next_slice(now, limit)
            counts = slices.setdefault(current, {})
            counts[TOTAL] = counts.get(TOTAL, 0) + 1
            counts[tenant] = counts.get(tenant, 0) + 1
            bucket.state = {
                "slices": {str(n): c for n, c in slices.items()},
                "blocked_until": blocked_until,
            }
            bucket.save(update_fields=["state"])
            return 0.0

    def block(self, key: str, seconds: float) -> None:
        from shops.models import RateLimitBucket

        self._ensure_bucket(key)
        with transaction.atomic():
            RateLimitBucket.objects.filter(key=key).update(updated_at=timezone.now())
            bucket = RateLimitBucket.objects.select_for_update().get(key=key)
            state = dict(bucket.state or {})
            state["blocked_until"] = max(
                float(state.get("blocked_until") or 0), time.time() + seconds
            )
            bucket.state = state
            bucket.save(update_fields=["state"])


# --- Redis -------------------------------------------------------------------------------------

# KEYS[1]: the key's prefix, KEYS[2]: its block key. ARGV: tenant, requests, slice ms, slices.
# Redis's own clock decides the slice, so workers on machines with skewed clocks still agree.
# Keys are built from KEYS[1] inside the script; they all share KEYS[1]'s {hash tag}, so they
# live in one cluster slot.
_ACQUIRE = """
local prefix, block_key = KEYS[1], KEYS[2]
local tenant = ARGV[1]
local requests = tonumber(ARGV[2])
local slice_ms = tonumber(ARGV[3])
local slices = tonumber(ARGV[4])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = redis.call('PTTL', block_key)
if blocked > 0 then return blocked end
local current = math.floor(now_ms / slice_ms)
local total, mine, mine_now, active = 0, 0, 0, 1
local seen = {[tenant] = true}
for s = current - slices, current do
  local h = redis.call('HGETALL', prefix .. s)
  for i = 1, #h, 2 do
    local who, count = h[i], tonumber(h[i + 1])
    if who == '*' then
      total = total + count
    else
      if not seen[who] then seen[who] = true; active = active + 1 end
      if who == tenant then
        mine = mine + count
        if s == current then mine_now = count end
      end
    end
  end
end
local share = math.max(1, math.floor(requests / active))
local pace = math.max(1, math.ceil(share / slices))
if total >= requests or mine >= share or mine_now >= pace then
  return math.max(1, slice_ms - (now_ms % slice_ms))
end
local k = prefix .. current
redis.call('HINCRBY', k, '*', 1)
redis.call('HINCRBY', k, tenant, 1)
redis.call('PEXPIRE', k, slice_ms * (slices + 2))
return 0
"""


class RedisBackend:
    def __init__(self, url: str, *, prefix: str = "ratelimit") -> None:
        import redis

        self.prefix = prefix
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self.redis.register_script(_ACQUIRE)

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:{{{key}}}"
        return [f"{base}:", f"{base}:block"]

    def try_acquire(self, key: str, tenant: str, limit: Limit) -> float:
        import redis

        slice_ms = max(1, int(limit.slice_seconds * 1000))
        try:
            wait_ms = self._script(
                keys=self._keys(key), args=[tenant, limit.requests, slice_ms, limit.slices]
            )
        except redis.RedisError as exc:
            logger.warning("Rate limiter unavailable (%s); letting %s through", exc, key)
            return 0.0
        return int(wait_ms) / 1000

    def block(self, key: str, seconds: float) -> None:
        import redis

        try:
            self.redis.set(self._keys(key)[1], 1, px=max(1, int(seconds * 1000)))
        except redis.RedisError as exc:
            logger.warning("Rate limiter unavailable (%s); cannot hold back %s", exc, key)

    def clear(self, key: str) -> None:
        """Forget everything about `key` (tests)."""
        for name in self.redis.scan_iter(f"{self.prefix}:{{{key}}}:*"):
            self.redis.delete(name)


# --- the limiter every client uses -------------------------------------------------------------

_lock = threading.Lock()
_backend: Backend | None = None


def backend() -> Backend:
    """The process's backend, chosen by settings.REDIS_URL."""
    global _backend
    with _lock:
        if _backend is None:
            url = getattr(settings, "REDIS_URL", "")
            prefix = getattr(settings, "RATE_LIMIT_PREFIX", "ratelimit")
            _backend = RedisBackend(url, prefix=prefix) if url else DatabaseBackend()
        return _backend


def use_backend(chosen: Backend | None) -> None:
    """Replace the process's backend (tests); None chooses again from the settings."""
    global _backend
    with _lock:
        _backend = chosen


def configured_limit(system: str, default: Limit | None) -> Limit | None:
    """A system's limit, unless settings.RATE_LIMITS overrides it: {"visma": None} switches it
    off (e.g. against a sandbox configured without one), {"visma": {"requests": 6000,
    "per_seconds": 60}} changes it."""
    overrides: dict[str, Any] = getattr(settings, "RATE_LIMITS", None) or {}
    if system not in overrides:
        return default
    value = overrides[system]
    return Limit(**value) if value else None


def acquire(
    key: str, tenant: str, limit: Limit, *, max_wait: float, chosen: Backend | None = None
) -> float:
    """Wait for `tenant`'s turn on `key`; return the seconds waited. Raises RateLimited when the
    turn is further away than `max_wait` (nothing was sent: the caller reschedules)."""
    limiter = chosen or backend()
    waited = 0.0
    while True:
        wait = limiter.try_acquire(key, tenant, limit)
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise RateLimited(
                f"Our share of the request limit for {key} is used up; try again in "
                f"{math.ceil(wait)} s.",
                retry_after=wait,
            )
        # A little jitter, so the workers that were told the same wait do not all come back
        # in the same millisecond.
        pause = wait + random.uniform(0, min(0.05, wait / 4))
        time.sleep(pause)
        waited += pause
