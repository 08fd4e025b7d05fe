"""Rate limits for the public pages (the status page and the merchant login), kept in Django's
cache: process memory (locmem) by default, Redis when REDIS_URL is set, so all web processes
share one count. Fixed one-minute windows: simple, and enough to make guessing tokens or
passwords pointless.

Settings (optional; requests per minute): STATUS_RATE_LIMIT_PER_IP (60),
STATUS_RATE_LIMIT_PER_TOKEN (30), STATUS_LOGIN_RATE_LIMIT_PER_IP (10), and
RATELIMIT_CLIENT_IP_HEADER (e.g. "HTTP_X_FORWARDED_FOR" behind a proxy that sets it; the last
address in it is the one the proxy saw). None or 0 switches a limit off.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
DEFAULTS = {
    "STATUS_RATE_LIMIT_PER_IP": 60,
    "STATUS_RATE_LIMIT_PER_TOKEN": 30,
    "STATUS_LOGIN_RATE_LIMIT_PER_IP": 10,
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def clock() -> float:
    return time.time()


def limit(setting: str) -> int:
    return int(getattr(settings, setting, DEFAULTS[setting]) or 0)


def client_ip(request: HttpRequest) -> str:
    header = getattr(settings, "RATELIMIT_CLIENT_IP_HEADER", "")
    if header and request.META.get(header):
        return request.META[header].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def secret_key(value: str) -> str:
    """A cache key part for a secret (a token): never the secret itself, so the cache (Redis)
    holds nothing that opens a page."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def hit(scope: str, key: str, *, per_minute: int) -> Verdict:
    """Count one request for (scope, key); allowed while the window's count is within the limit."""
    if per_minute <= 0:
        return Verdict(True)
    now = clock()
    window = int(now // WINDOW_SECONDS)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    try:
        if cache.add(cache_key, 1, timeout=WINDOW_SECONDS + 5):
            count = 1
        else:
            count = cache.incr(cache_key)
    except ValueError:
        # The key expired between add and incr: this request starts the window.
        cache.add(cache_key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    except Exception:  # noqa: BLE001 - a cache outage must not take the page down with it
        logger.warning("Rate limit cache unavailable; letting the request through", exc_info=True)
        return Verdict(True)
    if count <= per_minute:
        return Verdict(True)
    return Verdict(False, retry_after=max(1, int((window + 1) * WINDOW_SECONDS - now) + 1))
