"""The rate limiter when Redis fails: it paces in-process for a back-off instead of waiting for
Redis on every call, says so once, and shares one pace again when Redis answers."""

import logging
import shutil
import threading

import pytest

from gbp import limiter
from integrations import http
from tests.conftest import need
from tests.helpers import RedisServer


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Touches:
    """Counts the limiter's calls that reached Redis (and those Redis failed)."""

    def __init__(self, shared):
        self.calls = self.failures = 0
        self.lock = threading.Lock()
        for name in ("reserve", "slow_down"):
            setattr(shared, name, self.counting(getattr(shared, name)))

    def counting(self, method):
        def call(*args, **kwargs):
            with self.lock:
                self.calls += 1
            try:
                return method(*args, **kwargs)
            except limiter.Busy:
                raise
            except Exception:
                with self.lock:
                    self.failures += 1
                raise
        return call


@pytest.fixture
def private_redis():
    need(shutil.which("redis-server") is not None,
         "redis-server is not installed (needed to pause and resume a private Redis)")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def shared(private_redis, settings, monkeypatch, caplog):
    """The limiter on the private Redis, the clocks of its outage and of its in-process
    fallback in the test's hands, its waits skipped, its log captured."""
    caplog.set_level(logging.DEBUG, logger="gbp.limiter")
    settings.GBP_RATE_LIMIT_STORE = private_redis.url
    settings.GBP_QUOTA_PER_MINUTE = 600  # a slot every 0.105 s
    monkeypatch.setattr(http, "wait", lambda seconds: None)
    monkeypatch.setattr(limiter, "_local", limiter.LocalLimiter(Clock()))  # the fallback's pace
    store = limiter.store()
    assert isinstance(store, limiter.RedisLimiter)
    store.outage.clock = Clock()
    store.touches = Touches(store)
    return store


def limiter_logs(caplog, level):
    return [r for r in caplog.records if r.name == "gbp.limiter" and r.levelno == level]


def test_it_backs_off_longer_while_the_store_keeps_failing():
    clock = Clock()
    outage = limiter.Outage(clock)
    assert outage.ask() == outage.UP
    outage.failed(outage.UP, ConnectionError())
    waits = []
    for _ in range(6):
        assert outage.ask() is None  # within the back-off: nobody asks the store
        start = clock.now
        while outage.ask() is None:
            clock.now += 1
        waits.append(clock.now - start)
        outage.failed(outage.PROBE, ConnectionError())
    assert waits == [30, 60, 120, 240, 240, 240]  # doubling, capped at 4 minutes
    clock.now += limiter.MAX_BACKOFF
    assert outage.ask() == outage.PROBE
    outage.answered(outage.PROBE)
    assert outage.ask() == outage.UP


def test_it_lets_one_caller_at_a_time_try_the_store_again():
    clock = Clock()
    outage = limiter.Outage(clock)
    outage.failed(outage.UP, TimeoutError())
    outage.failed(outage.UP, TimeoutError())  # a call in flight when it failed: said already
    clock.now += limiter.FIRST_BACKOFF
    assert outage.ask() == outage.PROBE
    assert outage.ask() is None  # the others stay local while the probe is out
    clock.now += limiter.FIRST_BACKOFF  # a probe that never reported back blocks nobody for long
    assert outage.ask() == outage.PROBE


@pytest.mark.redis
def test_it_asks_a_paused_redis_once_per_back_off_not_on_every_call(shared, private_redis,
                                                                     caplog):
    clock, touches = shared.outage.clock, shared.touches
    for _ in range(5):
        limiter.acquire("performance")
    assert (touches.calls, touches.failures) == (5, 0)  # Redis paces every call

    private_redis.pause()
    delays = [limiter.acquire("performance") for _ in range(50)]
    assert (touches.calls, touches.failures) == (6, 1)  # 1 of 50 waited on Redis (its timeout)
    every = limiter.interval("performance")
    assert delays == pytest.approx([i * every for i in range(50)])  # paced here, not let through
    limiter.slow_down("performance", 10)  # a 429 during the outage: slows this process down
    assert limiter.acquire("performance") == pytest.approx(10)
    assert touches.calls == 6

    clock.now += limiter.FIRST_BACKOFF - 1
    for _ in range(10):
        limiter.acquire("performance")
    assert touches.calls == 6  # still within the back-off
    clock.now += 1
    for _ in range(10):
        limiter.acquire("performance")
    assert (touches.calls, touches.failures) == (7, 2)  # one retry, which failed: back off 60 s
    clock.now += limiter.FIRST_BACKOFF
    for _ in range(10):
        limiter.acquire("performance")
    assert touches.calls == 7

    private_redis.resume()
    clock.now += limiter.FIRST_BACKOFF
    for _ in range(10):
        limiter.acquire("performance")
    assert (touches.calls, touches.failures) == (17, 2)  # the retry answered; Redis paces again
    warnings = limiter_logs(caplog, logging.WARNING)
    recovered = limiter_logs(caplog, logging.INFO)
    assert len(warnings) == 1 and "pacing in-process" in warnings[0].getMessage()
    assert len(recovered) == 2  # the 429's own line, and:
    assert "answers again after 90s (failed retries: 1)" in recovered[1].getMessage()


@pytest.mark.redis
def test_it_lets_eight_threads_wait_on_a_paused_redis_at_most_once_each(shared, private_redis,
                                                                         caplog):
    limiter.acquire("performance")
    private_redis.pause()
    start = threading.Barrier(8)

    def sync_thread():
        start.wait()
        for _ in range(20):
            limiter.acquire("performance")

    threads = [threading.Thread(target=sync_thread) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Only the calls already in flight when Redis stopped answering waited on it; the other
    # 150+ of the 160 paced in-process at once.
    assert 1 <= shared.touches.failures <= 8
    assert shared.touches.calls == 1 + shared.touches.failures
    assert len(limiter_logs(caplog, logging.WARNING)) == 1


@pytest.mark.redis
def test_it_paces_in_process_while_redis_is_gone_and_shares_again_when_it_is_back(
        shared, private_redis, caplog):
    private_redis.stop()  # killed: every connection refused
    for _ in range(30):
        limiter.acquire("reviews")
    assert (shared.touches.calls, shared.touches.failures) == (1, 1)

    private_redis.start()  # back on the same port
    shared.outage.clock.now += limiter.FIRST_BACKOFF
    for _ in range(5):
        limiter.acquire("reviews")
    assert (shared.touches.calls, shared.touches.failures) == (6, 1)
    assert len(limiter_logs(caplog, logging.WARNING)) == 1
    assert "answers again" in limiter_logs(caplog, logging.INFO)[-1].getMessage()
