"""Faults and kills: a worker SIGKILLed mid-refresh and mid-sync, Redis gone for a while, a
token endpoint that hangs. Afterwards every integration is either refreshed or still holds its
previous valid tokens, nothing is half-written, and the next run completes the work.
"""

import os
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import http
from gbp.models import GbpDailyMetric, GbpLocation
from integrations.models import Integration, OAuthCredential
from sandbox import data, ops
from sandbox.faults import in_flight
from tests.conftest import owner_of, need
from tests.workers.processes import Worker, product_env, redis_reachable, redis_url, wait_until

FAST = {"INTEGRATIONS_REFRESH_LOCK_SECONDS": 3, "INTEGRATIONS_REFRESH_WAIT_SECONDS": 10,
        "INTEGRATIONS_HTTP_TIMEOUT": 2, "INTEGRATIONS_REFRESH_COOLDOWN_SECONDS": 1}


def seed(owner, count):
    """`count` integrations holding live sandbox grants, all due for a refresh."""
    grants = ops.issue_grants(owner, count)
    rows = Integration.objects.bulk_create(
        [Integration(owner=owner_of(owner), connected_by=owner, provider="sandbox", external_id=f"fault-{i}") for i in range(count)])
    OAuthCredential.objects.bulk_create(
        [OAuthCredential(integration=row, access_token=a, refresh_token=r,
                         expires_at=timezone.now() + timedelta(minutes=10))
         for row, (a, r, _) in zip(rows, grants)])
    return rows


def assert_intact(integrations):
    """Refreshed, or still holding the previous tokens, which still work: nothing lost."""
    for cred in OAuthCredential.objects.filter(integration__in=integrations).select_related("integration"):
        assert cred.integration.status == "active"
        assert cred.access_token and cred.refresh_token
        assert ops.refresh_token_is_live(cred.refresh_token), cred.integration_id


def all_refreshed(integrations):
    later = timezone.now() + timedelta(minutes=30)
    return OAuthCredential.objects.filter(integration__in=integrations,
                                          expires_at__gt=later).count() == len(integrations)


@pytest.fixture
def fast(settings):
    for name, value in FAST.items():
        setattr(settings, name, value)
    return {k: str(v) for k, v in FAST.items()}


def test_it_survives_a_token_endpoint_that_hangs(sandbox, owner, settings, fast, monkeypatch):
    from django.core.management import call_command

    from integrations import tokens

    monkeypatch.setattr(http, "wait", lambda s: None)
    integrations = seed(owner, 6)
    sandbox.inject("token", "hang", times=None, latency_ms=3000)
    with pytest.raises(SystemExit) as failed:
        call_command("refresh_tokens", "--concurrency", "6")
    assert failed.value.code == 1
    sandbox.clear()
    in_flight.wait_idle(timeout=30)
    assert_intact(integrations)
    OAuthCredential.objects.update(retry_after=None)  # the cooldown has passed
    call_command("refresh_tokens")
    assert all_refreshed(integrations)
    assert_intact(integrations)


@pytest.fixture
def worker_env(sandbox, settings, fast):
    url = redis_url()
    need(bool(url), "no REDIS_URL: the worker fault tests run in the PostgreSQL + Redis pass")
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    return product_env(sandbox, settings, **fast)


def kill(worker):
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(timeout=30)


@pytest.mark.redis
def test_it_loses_nothing_when_a_worker_is_killed_mid_refresh(sandbox, owner, worker_env):
    integrations = seed(owner, 8)
    sandbox.inject("token", "hang", times=None, latency_ms=4000)
    worker = Worker(worker_env, concurrency=4).start()
    try:
        assert worker.command("refresh_tokens", "--enqueue").returncode == 0
        holding = lambda: OAuthCredential.objects.exclude(lease_owner="").count() >= 2  # noqa: E731
        assert wait_until(holding, timeout=60), "no refresh got under way"
    finally:
        kill(worker)  # SIGKILL, mid-request
    sandbox.clear()
    in_flight.wait_idle(timeout=30)
    assert_intact(integrations)

    again = Worker(worker_env, concurrency=4).start()
    try:
        assert again.command("refresh_tokens", "--enqueue").returncode == 0
        assert wait_until(lambda: all_refreshed(integrations), timeout=120)
    finally:
        again.stop()
    assert_intact(integrations)


@pytest.mark.redis
def test_it_loses_nothing_when_a_worker_is_killed_mid_sync(connected, sandbox, owner, settings,
                                                         worker_env):
    # One location at a time, so that the kill lands part-way; a short sync lease, so that the
    # next sync need not wait out the killed one's 15 minutes.
    worker_env = dict(worker_env, GBP_BACKFILL_DAYS="10", GBP_SYNC_CONCURRENCY="1",
                      GBP_SYNC_LEASE_SECONDS="3")
    sandbox.inject("metrics", "latency", times=None, latency_ms=700)
    worker = Worker(worker_env, concurrency=1).start()
    try:
        enqueue = ("from gbp.tasks import sync_integration; "
                   f"sync_integration.delay({connected.pk})")
        assert worker.command("shell", "-c", enqueue).returncode == 0
        # Killed while it fetches metrics (a first sync stores each page of locations first).
        assert wait_until(lambda: GbpLocation.objects.exists(), timeout=60)
    finally:
        kill(worker)
    sandbox.clear()
    in_flight.wait_idle(timeout=30)
    locations = sum(len(data.locations(owner.username, a)) for a in data.account_ids(owner.username))
    written = GbpLocation.objects.count()
    assert 0 < written <= locations  # what was written stays
    assert GbpDailyMetric.objects.count() < locations * 7 * 10  # stopped part-way
    assert Integration.objects.get(pk=connected.pk).last_sync_status != "ok"
    assert_intact([connected])
    time.sleep(3.5)  # the killed sync's lease lapses

    again = Worker(worker_env, concurrency=1).start()
    try:
        assert again.command("shell", "-c", enqueue).returncode == 0
        done = lambda: Integration.objects.get(pk=connected.pk).last_sync_status == "ok"  # noqa: E731
        assert wait_until(done, timeout=120)
    finally:
        again.stop()
    assert GbpLocation.objects.count() == locations
    assert GbpDailyMetric.objects.count() == locations * 7 * 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port):
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.redis
def test_it_recovers_when_redis_goes_away_for_a_while(sandbox, owner, worker_env):
    need(bool(subprocess.run(["which", "redis-server"], capture_output=True).stdout),
         "redis-server is not installed (needed to stop and restart a private Redis)")
    port = free_port()
    redis = start_redis(port)
    env = dict(worker_env, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert wait_until(lambda: redis_reachable(env["REDIS_URL"]), timeout=10)
    integrations = seed(owner, 5)
    worker = Worker(env, concurrency=2).start()
    try:
        redis.kill()
        redis.wait()
        down = worker.command("refresh_tokens", "--enqueue", timeout=120)
        assert down.returncode == 2 and "broker" in down.stderr  # infrastructure: exit 2, nothing changed
        assert_intact(integrations)

        time.sleep(2)  # down for a while
        redis = start_redis(port)
        assert wait_until(lambda: redis_reachable(env["REDIS_URL"]), timeout=10)
        up = worker.command("refresh_tokens", "--enqueue")
        assert up.returncode == 0, up.stderr
        assert wait_until(lambda: all_refreshed(integrations), timeout=120), "worker did not reconnect"
    finally:
        worker.stop()
        redis.kill()
        redis.wait()
    assert_intact(integrations)
