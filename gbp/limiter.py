"""A shared rate limiter per Google API: every GBP request waits here for its slot.

Google's quota is per API per Cloud project (300 requests per minute by default), shared by every
worker, process and integration of the installation. The limiter paces requests evenly (a slot
every 60 / rate seconds, no bursts) with the generic cell rate algorithm: one "next free slot"
time per API; taking a slot moves it on by one interval, and the caller waits until its slot.

- Redis (GBP_RATE_LIMIT_STORE is a redis:// URL, or the alias of a Redis cache): one Lua script
  takes the slot atomically on Redis's clock, so every process and machine shares one pace.
- Anything else (the embedded default): the same algorithm in this process, under a lock.

A 429 slows the API down for everyone: nobody gets a slot before Google's Retry-After (or a
default pause) has passed, and the interval doubles (up to 16x) until a minute passes without a
429. Slots are paced at 95% of the quota: room for network jitter and for calls made outside the
limiter. Waiting goes through `integrations.http.wait`, the one place provider calls wait.
"""

import logging
import threading
import time

from django.conf import settings as django_settings

from integrations import http

from .conf import quota_per_minute, settings

log = logging.getLogger(__name__)

HEADROOM = 0.95
DEFAULT_PAUSE = 10.0  # seconds, after a 429 without Retry-After
MAX_PAUSE = 60.0  # a longer Retry-After pauses the sync itself (see gbp.client)
CALM_AFTER = 60.0  # seconds without a 429 before the pace is back to normal
MAX_FACTOR = 16


class Busy(Exception):
    """The next slot is further away than the caller is willing to wait."""


def interval(api: str) -> float:
    return 60.0 / (quota_per_minute(api) * HEADROOM)


class LocalLimiter:
    """The algorithm in one process (the embedded default), on a monotonic clock."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.state = {}  # api -> [next slot, factor, calm at]

    def reserve(self, api, every, max_wait=None) -> float:
        with self.lock:
            now = self.clock()
            tat, factor, calm = self.state.get(api, (now, 1, now))
            if now > calm:
                factor = 1
            slot = max(now, tat)
            if max_wait is not None and slot - now > max_wait:
                raise Busy(api)
            self.state[api] = (slot + every * factor, factor, calm)
            return slot - now

    def slow_down(self, api, pause):
        with self.lock:
            now = self.clock()
            tat, factor, calm = self.state.get(api, (now, 1, now))
            factor = min(MAX_FACTOR, (factor if now <= calm else 1) * 2)
            self.state[api] = (max(tat, now + pause), factor, now + CALM_AFTER)


# KEYS[1]: the API's hash. ARGV: op ("take" | "slow"), interval or pause (microseconds),
# max wait (microseconds, -1: no limit), calm-after (microseconds), max factor.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tat', 'factor', 'calm')
local tat = tonumber(s[1]) or now
local factor = tonumber(s[2]) or 1
local calm = tonumber(s[3]) or now
if now > calm then factor = 1 end
local amount = tonumber(ARGV[2])
local result = 0
if ARGV[1] == 'slow' then
  factor = math.min(tonumber(ARGV[5]), factor * 2)
  calm = now + tonumber(ARGV[4])
  tat = math.max(tat, now + amount)
else
  local slot = math.max(now, tat)
  local max_wait = tonumber(ARGV[3])
  if max_wait >= 0 and slot - now > max_wait then return -1 end
  tat = slot + amount * factor
  result = slot - now
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'factor', factor,
           'calm', string.format('%.0f', calm))
redis.call('PEXPIRE', KEYS[1], math.floor((math.max(tat, calm) - now) / 1000) + 60000)
return result
"""


class RedisLimiter:
    """The algorithm on Redis: one pace across processes and machines."""

    def __init__(self, url, prefix="gbp:ratelimit:"):
        import redis  # an optional dependency: only hosts with a Redis store need it

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.script = self.client.register_script(SCRIPT)
        self.prefix = prefix

    def reserve(self, api, every, max_wait=None) -> float:
        waited = -1 if max_wait is None else int(max_wait * 1e6)
        micros = self.script(keys=[self.prefix + api],
                             args=["take", int(every * 1e6), waited, 0, MAX_FACTOR])
        if micros < 0:
            raise Busy(api)
        return micros / 1e6

    def slow_down(self, api, pause):
        self.script(keys=[self.prefix + api],
                    args=["slow", int(pause * 1e6), -1, int(CALM_AFTER * 1e6), MAX_FACTOR])


_local = LocalLimiter()
_redis = {}
_redis_lock = threading.Lock()
PREFIX = "gbp:ratelimit:"  # the Redis keys, one hash per API


def redis_url() -> str:
    """The Redis URL of GBP_RATE_LIMIT_STORE ('' when the store is not Redis)."""
    store = settings.GBP_RATE_LIMIT_STORE or ""
    if store.startswith(("redis://", "rediss://", "unix://")):
        return store
    cache = getattr(django_settings, "CACHES", {}).get(store) or {}
    if "redis" not in cache.get("BACKEND", "").lower():
        return ""
    location = cache.get("LOCATION") or ""
    return location[0] if isinstance(location, (list, tuple)) else location.split(",")[0]


def store():
    """The limiter of this installation (Redis clients are made once per URL)."""
    url = redis_url()
    if not url:
        return _local
    with _redis_lock:
        if (url, PREFIX) not in _redis:
            _redis[(url, PREFIX)] = RedisLimiter(url, PREFIX)
        return _redis[(url, PREFIX)]


def acquire(api: str, max_wait: float | None = None) -> float:
    """Wait for this API's next slot; returns the seconds waited. With `max_wait`, raise Busy
    instead of waiting longer (nothing is reserved then)."""
    limiter = store()
    try:
        delay = limiter.reserve(api, interval(api), max_wait)
    except Busy:
        raise
    except Exception as exc:  # Redis unreachable: pace this process alone rather than stop
        log.warning("GBP rate limiter: shared store unavailable (%s); pacing in-process",
                    type(exc).__name__)
        delay = _local.reserve(api, interval(api), max_wait)
    if delay > 0:
        http.wait(delay)
    return delay


def slow_down(api: str, retry_after: float | None):
    """Google answered 429: nobody gets a slot on this API for a while, then slower."""
    pause = min(MAX_PAUSE, retry_after if retry_after is not None else DEFAULT_PAUSE)
    log.info("GBP rate limiter: 429 on %s; pausing %.1fs and slowing down", api, pause)
    try:
        store().slow_down(api, pause)
    except Exception as exc:
        log.warning("GBP rate limiter: shared store unavailable (%s)", type(exc).__name__)
        _local.slow_down(api, pause)
