"""Prometheus metrics for operators: what the fleet looks like now, and what refreshing did.

Two kinds of numbers, each kept where it is true for every process on every machine:

- **State** (integrations by status, credentials expiring within 1 h and 24 h, cooling down,
  the last proactive run): computed from the database at scrape time, with the same indexed
  queries the health endpoint runs. Any web process answers with the fleet's numbers.
- **Events** (refreshes by provider and outcome, refresh duration): counted in the process that
  refreshed (a dict under a lock: nothing on the hot path crosses the network) and added every
  few seconds to shared counters in Django's cache (`INTEGRATIONS_METRICS_CACHE`; Redis in
  production), which every scrape reads. So a refresh counted by a Celery worker on one machine
  shows on the endpoint served by gunicorn on another. A process killed outright loses at most
  its last few seconds of counts; Prometheus' rate() treats a reset of the shared counters
  (a flushed Redis) as a counter reset. With the local-memory cache (the embedded default: one
  process) the counters are that process's own.

When the cache fails (Redis down), a scrape still answers with the state from the database; the
shared counters are left out (not zeroed: Prometheus would take a zero for a counter reset) and
`integrations_metrics_cache_up` is 0. Counting never touches the cache, so a refresh cannot fail
for it; counts that could not be added are kept and added once the cache answers again.

prometheus_client's multiprocess mode was the alternative: it is correct across the processes of
one machine only, and needs a writable directory and its cleanup on every host.
"""

import atexit
import logging
import threading
import time
from collections import Counter

from django.core.cache import caches
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)

from .conf import settings

log = logging.getLogger(__name__)

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # seconds
PREFIX = "integrations:metrics:"
FLUSH_SECONDS = 5.0


def _bucket(seconds: float) -> str:
    return next((str(b) for b in BUCKETS if seconds <= b), "+Inf")


class _Recorder:
    """Counts in this process; a daemon thread adds them to the shared cache counters."""

    def __init__(self):
        self.pending = Counter()
        self.lock = threading.Lock()
        self.thread = None

    def refresh(self, provider: str, outcome: str, seconds: float):
        keys = [f"refresh:{provider}:{outcome}", f"duration_bucket:{_bucket(seconds)}",
                "duration_count"]
        with self.lock:
            for key in keys:
                self.pending[key] += 1
            self.pending["duration_sum_ms"] += int(seconds * 1000)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True,
                                               name="metrics-flush")
                self.thread.start()

    def flush(self) -> bool:
        """Add this process's counts to the shared counters. False when the cache failed: what
        did not reach it is kept for the next flush."""
        cache = caches[settings.INTEGRATIONS_METRICS_CACHE]
        with self.lock:
            pending, self.pending = self.pending, Counter()
        if not pending:
            return True
        try:
            for key in list(pending):
                cache.add(PREFIX + key, 0, timeout=None)
                try:
                    cache.incr(PREFIX + key, pending[key])
                except ValueError:  # evicted between add and incr: start it again
                    cache.set(PREFIX + key, pending[key], timeout=None)
                del pending[key]
        except Exception as exc:  # the cache is down: keep counting, add them later
            with self.lock:
                self.pending.update(pending)
            cache_health.failed(exc)
            return False
        cache_health.answered()
        return True

    def _run(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # never let the counting thread die
                pass


class _CacheHealth:
    """Whether the shared counters' cache answered last time; logs each change once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.up = True

    def failed(self, exc):
        with self.lock:
            was_up, self.up = self.up, False
        if was_up:
            log.warning("metrics: the counters' cache (%s) failed (%s); scrapes leave the refresh "
                        "counters out until it answers", settings.INTEGRATIONS_METRICS_CACHE,
                        type(exc).__name__)

    def answered(self):
        with self.lock:
            was_up, self.up = self.up, True
        if not was_up:
            log.info("metrics: the counters' cache (%s) answers again",
                     settings.INTEGRATIONS_METRICS_CACHE)


cache_health = _CacheHealth()
recorder = _Recorder()
atexit.register(lambda: recorder.flush())


def record_refresh(provider: str, outcome: str, seconds: float):
    """One refresh attempt's outcome (ok / reauth / operator / transient) and duration."""
    recorder.refresh(provider, outcome, seconds)


class FleetCollector:
    def collect(self):
        from .health import state  # the database numbers the health endpoint reports too

        counts = _shared_counts()
        if counts is not None:
            yield from _event_metrics(counts)
        yield GaugeMetricFamily("integrations_metrics_cache_up",
                                "1 when the shared refresh counters could be read from the cache, "
                                "0 when not (the refresh counters are left out)",
                                value=1 if counts is not None else 0)
        yield from _state_metrics(state())


def _shared_counts():
    """The shared counters, this process's latest counts added first; None when the cache fails
    (one failed call at most: a cache that timed out is not asked twice)."""
    if not recorder.flush():
        return None
    cache, names = caches[settings.INTEGRATIONS_METRICS_CACHE], _known_keys()
    try:
        values = cache.get_many([PREFIX + n for n in names])
    except Exception as exc:
        cache_health.failed(exc)
        return None
    cache_health.answered()
    return {n: int(values.get(PREFIX + n) or 0) for n in names}


def _event_metrics(counts):
    refreshes = CounterMetricFamily("integrations_refreshes", "Token refresh attempts",
                                    labels=["provider", "outcome"])
    for name, value in sorted(counts.items()):
        if name.startswith("refresh:"):
            _, provider, outcome = name.split(":", 2)
            refreshes.add_metric([provider, outcome], value)
    yield refreshes
    cumulative, buckets = 0, []
    for bound in [*map(str, BUCKETS), "+Inf"]:
        cumulative += counts.get(f"duration_bucket:{bound}", 0)
        buckets.append((bound, cumulative))
    yield HistogramMetricFamily(
        "integrations_refresh_duration_seconds", "Time one refresh took (all its attempts)",
        buckets=buckets, sum_value=counts.get("duration_sum_ms", 0) / 1000)


def _known_keys():
    """The counters' names (Django's cache API cannot list keys): every declared provider."""
    from .providers import registry

    providers = {p.id for p in registry.all_providers()}
    outcomes = ("ok", "reauth", "operator", "transient")
    return ([f"refresh:{p}:{o}" for p in sorted(providers) for o in outcomes]
            + [f"duration_bucket:{b}" for b in [*map(str, BUCKETS), "+Inf"]]
            + ["duration_count", "duration_sum_ms"])


def _state_metrics(data):
    by_status = GaugeMetricFamily("integrations_by_status", "Integrations by status",
                                  labels=["status"])
    for status, n in data["integrations"].items():
        by_status.add_metric([status], n)
    yield by_status
    expiring = GaugeMetricFamily("integrations_credentials_expiring",
                                 "Active credentials whose token expires within a window",
                                 labels=["within"])
    expiring.add_metric(["1h"], data["expiring_within_1h"])
    expiring.add_metric(["24h"], data["expiring_within_24h"])
    yield expiring
    yield GaugeMetricFamily("integrations_credentials_cooling_down",
                            "Active credentials waiting out a cooldown after a failed refresh",
                            value=data["cooling_down"])
    yield GaugeMetricFamily("integrations_needing_attention",
                            "Integrations that need a user or an operator",
                            value=data["needs_attention"])
    notices = GaugeMetricFamily("integrations_notices",
                                "Notices to owners not delivered yet (pending) or given up on",
                                labels=["status"])
    for status, n in data["notices"].items():
        notices.add_metric([status], n)
    yield notices
    run = data["last_proactive_run"]
    started = GaugeMetricFamily("integrations_last_proactive_run_started_timestamp_seconds",
                                "When the last proactive refresh run started")
    finished = GaugeMetricFamily("integrations_last_proactive_run_finished_timestamp_seconds",
                                 "When the last proactive refresh run finished (0: running)")
    outcome = GaugeMetricFamily("integrations_last_proactive_run_outcome",
                                "1 for the outcome of the last proactive run",
                                labels=["outcome"])
    if run:
        started.add_metric([], run["started_at_ts"])
        finished.add_metric([], run["finished_at_ts"] or 0)
        for name in ("ok", "failures", "running"):
            outcome.add_metric([name], 1 if run["outcome"] == name else 0)
    yield from (started, finished, outcome)


def exposition() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector())
    return generate_latest(registry)
