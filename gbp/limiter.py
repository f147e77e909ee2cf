"""A shared rate limiter per Google API: every GBP request waits here for its slot.

Google's quota is per API per Cloud project (300 requests per minute by default), shared by every
worker, process and integration of the installation. The limiter paces requests evenly (a slot
every 60 / rate seconds, no bursts) with the generic cell rate algorithm: one "next free slot"
time per API; taking a slot moves it on by one interval, and the caller waits until its slot.

- Redis (GBP_RATE_LIMIT_STORE is a redis:// URL, or the alias of a Redis cache): one Lua script
  takes the slot atomically on Redis's clock, so every process and machine shares one pace.
- Anything else (the embedded default): the same algorithm in this process, under a lock.

When Redis fails (refused, timed out, any error), calls pace in-process for a back-off (30 s,
doubling to 4 minutes while it keeps failing) instead of paying Redis's timeout on every call;
then one call tries Redis again. A paused Redis costs one short wait (its 1 s socket timeout) per
back-off period, plus one for each call already in flight when it stopped answering. The outage is
logged once: a WARNING when it starts, an INFO when Redis answers again.

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
REDIS_TIMEOUT = 1.0  # seconds, to connect and to answer: the script takes microseconds
FIRST_BACKOFF = 30.0  # seconds of in-process pacing after Redis failed, before trying it again
MAX_BACKOFF = 240.0  # the back-off doubles up to this while Redis keeps failing


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


class Outage:
    """Remembers that the shared store failed, so calls pace in-process for a while instead of
    each waiting for Redis's timeout. Thread-safe: a sync calls the limiter from 8 threads."""

    UP, PROBE = "up", "probe"  # what `ask` grants: the store works / the one call that retries it

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.since = None  # when the store failed (None: it answers)
        self.backoff = 0.0
        self.retry_at = 0.0
        self.probes = 0  # calls that tried the store again and failed, this outage

    def ask(self):
        """UP or PROBE: call the store, then report `failed` or `answered`; None: pace locally."""
        with self.lock:
            if self.since is None:
                return self.UP
            now = self.clock()
            if now < self.retry_at:
                return None
            # One caller tries again; the others stay local for another back-off even if this
            # caller never reports back.
            self.retry_at = now + self.backoff
            return self.PROBE

    def failed(self, ticket, exc):
        with self.lock:
            now = self.clock()
            if ticket == self.PROBE:
                self.probes += 1
                self.backoff = min(MAX_BACKOFF, self.backoff * 2)
                self.retry_at = now + self.backoff
                backoff, started = self.backoff, False
            elif self.since is None:
                self.since, self.backoff, self.probes = now, FIRST_BACKOFF, 0
                self.retry_at = now + FIRST_BACKOFF
                backoff, started = FIRST_BACKOFF, True
            else:  # a call in flight when the outage began: already said
                return
        if started:
            log.warning("GBP rate limiter: the shared store failed (%s); pacing in-process, "
                        "trying it again in %.0fs", type(exc).__name__, backoff)
        else:
            log.debug("GBP rate limiter: the shared store still fails (%s); next try in %.0fs",
                      type(exc).__name__, backoff)

    def answered(self, ticket):
        if ticket != self.PROBE:
            return
        with self.lock:
            if self.since is None:
                return
            down, probes = self.clock() - self.since, self.probes
            self.since, self.backoff, self.probes = None, 0.0, 0
        log.info("GBP rate limiter: the shared store answers again after %.0fs (failed retries: "
                 "%d); sharing one pace again", down, probes)


class RedisLimiter:
    """The algorithm on Redis: one pace across processes and machines."""

    def __init__(self, url, prefix="gbp:ratelimit:"):
        import redis  # an optional dependency: only hosts with a Redis store need it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Short timeouts and no retries inside redis-py: a Redis that does not answer within a
        # second is down for a pacer whose slots are a fraction of a second apart, and `Outage`
        # decides when to try it again.
        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                           socket_connect_timeout=REDIS_TIMEOUT,
                                           retry=Retry(NoBackoff(), 0))
        self.script = self.client.register_script(SCRIPT)
        self.prefix = prefix
        self.outage = Outage()

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


def _shared(method: str, *args):
    """`method` of the shared store, or of this process's limiter while the store is down."""
    limiter = store()
    ticket = limiter.outage.ask() if limiter is not _local else None
    if ticket is None:
        return getattr(_local, method)(*args)
    try:
        result = getattr(limiter, method)(*args)
    except Busy:
        limiter.outage.answered(ticket)  # Redis answered: the slot is too far away
        raise
    except Exception as exc:  # Redis unreachable: pace this process alone rather than stop
        limiter.outage.failed(ticket, exc)
        return getattr(_local, method)(*args)
    limiter.outage.answered(ticket)
    return result


def acquire(api: str, max_wait: float | None = None) -> float:
    """Wait for this API's next slot; returns the seconds waited. With `max_wait`, raise Busy
    instead of waiting longer (nothing is reserved then)."""
    delay = _shared("reserve", api, interval(api), max_wait)
    if delay > 0:
        http.wait(delay)
    return delay


def slow_down(api: str, retry_after: float | None):
    """Google answered 429: nobody gets a slot on this API for a while, then slower."""
    pause = min(MAX_PAUSE, retry_after if retry_after is not None else DEFAULT_PAUSE)
    log.info("GBP rate limiter: 429 on %s; pausing %.1fs and slowing down", api, pause)
    _shared("slow_down", api, pause)
