"""The shared rate limiter: even pacing, a 429 slows it, one pace across processes (Redis)."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from gbp import limiter
from integrations import http
from tests.conftest import need
from tests.workers.processes import ROOT, redis_reachable, redis_url


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_it_paces_requests_evenly_instead_of_bursting():
    clock = Clock()
    local = limiter.LocalLimiter(clock)
    delays = [local.reserve("performance", 0.2) for _ in range(5)]
    assert delays == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    clock.now += 5  # idle for a while: no credit saved up for a burst
    assert [local.reserve("performance", 0.2) for _ in range(2)] == pytest.approx([0, 0.2])


def test_it_keeps_one_pace_per_api():
    local = limiter.LocalLimiter(Clock())
    local.reserve("performance", 0.2)
    assert local.reserve("reviews", 0.2) == 0  # another API, another quota


def test_it_slows_down_after_a_429_with_retry_after():
    clock = Clock()
    local = limiter.LocalLimiter(clock)
    local.reserve("performance", 0.2)
    local.slow_down("performance", 2.0)  # Google said: Retry-After 2
    assert local.reserve("performance", 0.2) == pytest.approx(2.0)  # nobody before the pause ends
    assert local.reserve("performance", 0.2) == pytest.approx(2.0 + 0.4)  # then at half the pace
    clock.now += limiter.CALM_AFTER + 10  # a minute without a 429: back to the normal pace
    assert [local.reserve("performance", 0.2) for _ in range(2)] == pytest.approx([0, 0.2])


def test_it_waits_through_the_one_seam_at_the_configured_rate(settings, monkeypatch):
    settings.GBP_QUOTA_PER_MINUTE = {"performance": 600}
    settings.GBP_RATE_LIMIT_STORE = "default"  # local memory in the SQLite pass: in-process
    monkeypatch.setattr(limiter, "_local", limiter.LocalLimiter())
    monkeypatch.setattr(limiter, "redis_url", lambda: "")
    waits = []
    monkeypatch.setattr(http, "wait", waits.append)
    for _ in range(4):
        limiter.acquire("performance")
    step = 60 / (600 * limiter.HEADROOM)  # paced a little under the quota
    assert waits == pytest.approx([step, 2 * step, 3 * step], abs=0.01)


def test_it_finds_redis_behind_a_cache_alias_or_a_url(settings):
    settings.CACHES = {**settings.CACHES, "shared": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.example:6379/2"}}
    settings.GBP_RATE_LIMIT_STORE = "shared"
    assert limiter.redis_url() == "redis://cache.example:6379/2"
    settings.GBP_RATE_LIMIT_STORE = "redis://other.example:6379/0"
    assert limiter.redis_url() == "redis://other.example:6379/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.GBP_RATE_LIMIT_STORE = "default"
    assert limiter.redis_url() == ""  # local memory: each process paces itself


def test_it_gives_up_a_slot_it_would_wait_too_long_for():
    clock = Clock()
    local = limiter.LocalLimiter(clock)
    local.slow_down("accounts", 30)
    with pytest.raises(limiter.Busy):
        local.reserve("accounts", 0.2, max_wait=5)
    assert local.reserve("accounts", 0.2) == pytest.approx(30)  # nothing was reserved by it


CHILD = """
import json, os, sys, time
import django
django.setup()
from gbp.limiter import RedisLimiter
url, prefix, every, n, start = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
limit = RedisLimiter(url, prefix=prefix)
while time.time() < start:
    time.sleep(0.005)
times = []
for _ in range(n):
    time.sleep(limit.reserve("performance", every))
    times.append(time.time())
print(json.dumps(times))
"""


@pytest.mark.redis
def test_it_holds_a_rate_across_two_processes():
    url = redis_url()
    need(bool(url), "no REDIS_URL: the Redis tests run in the PostgreSQL + Redis pass")
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    every, n = 0.05, 20  # 20 requests a second between them, 20 each
    prefix = f"test-gbp-{uuid.uuid4().hex[:8]}:"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_test", PYTHONPATH=str(ROOT))
    start = time.time() + 3  # both ready (Django set up) before the first request
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, url, prefix, str(every), str(n),
                               str(start)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for _ in range(2)]
    times = sorted(t for p in procs for t in json.loads(p.communicate(timeout=60)[0]))
    # Alone, each would be done in 19 intervals; sharing one pace, the 40 take 39.
    assert times[-1] - times[0] >= 39 * every * 0.9
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert sum(g < every / 2 for g in gaps) <= 2  # evenly spaced, not two bursts side by side
    # Any 12 in a row span 11 intervals (0.55 s): never more than 11 in any half second.
    assert min(times[i + 11] - times[i] for i in range(len(times) - 11)) >= 0.5


@pytest.mark.redis
def test_it_slows_down_for_every_process_after_a_429_on_redis():
    url = redis_url()
    need(bool(url), "no REDIS_URL: the Redis tests run in the PostgreSQL + Redis pass")
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    shared = limiter.RedisLimiter(url, prefix=f"test-gbp-{uuid.uuid4().hex[:8]}:")
    assert shared.reserve("reviews", 0.1) == 0
    shared.slow_down("reviews", 1.0)
    assert shared.reserve("reviews", 0.1) == pytest.approx(1.0, abs=0.05)
    assert shared.reserve("reviews", 0.1) == pytest.approx(1.2, abs=0.05)  # half the pace
    with pytest.raises(limiter.Busy):
        shared.reserve("reviews", 0.1, max_wait=0.5)


def test_it_paces_the_connect_time_label_too(sandbox, client, owner, monkeypatch):
    from integrations.models import Integration
    from tests.helpers import connect

    taken = []
    real = limiter.acquire
    monkeypatch.setattr(limiter, "acquire", lambda api, max_wait=None: (
        taken.append((api, max_wait)), real(api, max_wait))[1])
    client.force_login(owner)
    assert connect(client, sandbox, owner).status_code == 302
    assert taken == [("accounts", 5)]  # the label's one call, waiting a few seconds at most
    assert "Bakeries" in Integration.objects.get(connected_by=owner).display_name


def test_it_connects_without_a_label_when_the_quota_is_paused(sandbox, client, owner):
    from integrations.models import Integration
    from tests.helpers import connect

    limiter.slow_down("accounts", 30)  # a sync just got a 429 on the Account Management API
    client.force_login(owner)
    assert connect(client, sandbox, owner).status_code == 302
    integration = Integration.objects.get(connected_by=owner)
    assert integration.status == "active" and "Bakeries" not in integration.display_name
    assert sandbox.calls("accounts") == 0  # not one request over the quota
