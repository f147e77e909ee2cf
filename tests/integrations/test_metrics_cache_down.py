"""GET /integrations/metrics/ with the counters' cache down (a Redis nobody listens on): the
database numbers are still served, the shared counters are left out and a gauge says why."""

import logging
import shutil

import pytest
from django.core.cache import cache, caches
from prometheus_client.parser import text_string_to_metric_families

from integrations import http, metrics, tokens
from tests.conftest import need
from tests.helpers import RedisServer, free_port


@pytest.fixture(autouse=True)
def fresh_counters(monkeypatch):
    monkeypatch.setattr(http, "wait", lambda s: None)
    monkeypatch.setattr(metrics, "cache_health", metrics._CacheHealth())
    cache.clear()
    metrics.recorder.pending.clear()


@pytest.fixture
def cache_down(settings):
    """The metrics cache on a Redis URL whose port nobody listens on: a real refusal."""
    settings.CACHES = {**settings.CACHES, "metrics-down": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    settings.INTEGRATIONS_METRICS_CACHE = "metrics-down"
    return settings


def scrape(client):
    r = client.get("/integrations/metrics/")
    assert r.status_code == 200, r.status_code
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_it_serves_the_database_numbers_when_the_counters_cache_is_down(
        cache_down, owner, staff, client, make_integration, caplog):
    make_integration(owner)
    make_integration(owner, status="reauth_required")
    metrics.record_refresh("google_business_profile", "ok", 0.3)  # waiting to be flushed
    client.force_login(staff)
    with caplog.at_level(logging.INFO, logger="integrations.metrics"):
        samples = scrape(client)
        again = scrape(client)
    assert samples[("integrations_metrics_cache_up", ())] == 0
    assert samples[("integrations_by_status", (("status", "active"),))] == 1
    assert samples[("integrations_by_status", (("status", "reauth_required"),))] == 1
    assert samples[("integrations_needing_attention", ())] == 1
    # Left out, not zeroed: Prometheus would read a zero as a counter reset.
    assert not [name for name, _ in samples if name.startswith("integrations_refresh")]
    assert again == samples
    warnings = [r for r in caplog.records if r.name == "integrations.metrics"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING  # once per outage


def test_it_says_the_counters_cache_is_up_when_it_is(db, staff, client):
    client.force_login(staff)
    samples = scrape(client)
    assert samples[("integrations_metrics_cache_up", ())] == 1
    assert ("integrations_refresh_duration_seconds_count", ()) in samples


def test_it_refreshes_while_the_cache_is_down_and_counts_it_when_it_is_back(
        connected, cache_down, staff, client, caplog):
    tokens.ensure_fresh(connected, force=True)  # counting cannot fail a refresh
    client.force_login(staff)
    assert scrape(client)[("integrations_metrics_cache_up", ())] == 0

    cache_down.INTEGRATIONS_METRICS_CACHE = "default"  # the cache is back
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="integrations.metrics"):
        samples = scrape(client)
    assert samples[("integrations_metrics_cache_up", ())] == 1
    assert samples[("integrations_refreshes_total",
                    (("outcome", "ok"), ("provider", "sandbox")))] == 1  # kept, not lost
    assert [r.levelno for r in caplog.records
            if r.name == "integrations.metrics"] == [logging.INFO]


@pytest.fixture
def private_redis():
    need(shutil.which("redis-server") is not None,
         "redis-server is not installed (needed to pause a private Redis)")
    server = RedisServer().start()
    yield server
    server.stop()


def counting(calls, name, method):
    def call(*args, **kwargs):
        calls.append(name)
        return method(*args, **kwargs)
    return call


@pytest.mark.redis
def test_it_waits_on_a_paused_cache_once_per_scrape(db, private_redis, settings, staff, client,
                                                     monkeypatch):
    settings.CACHES = {**settings.CACHES, "metrics-paused": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": private_redis.url,
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}}
    settings.INTEGRATIONS_METRICS_CACHE = "metrics-paused"
    shared = caches["metrics-paused"]  # this thread's: the one the test client's view uses
    calls = []
    for name in ("add", "incr", "set", "get_many"):
        monkeypatch.setattr(shared, name, counting(calls, name, getattr(shared, name)))
    client.force_login(staff)
    assert scrape(client)[("integrations_metrics_cache_up", ())] == 1
    private_redis.pause()
    for _ in range(3):
        metrics.record_refresh("gmail", "ok", 0.1)
        calls.clear()
        assert scrape(client)[("integrations_metrics_cache_up", ())] == 0
        # One call timed out (the flush's first, or the read when the counting thread had just
        # taken the counts); nothing else asked the paused cache.
        assert len(calls) == 1
