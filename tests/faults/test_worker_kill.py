"""Workers stopped mid-batch. SIGTERM (a deploy, a scale-down): the refreshes in flight finish,
the rest of the batch goes back to the queue, nothing is lost. SIGKILL (the OOM killer): the
batch comes back to another worker after the broker's visibility timeout (10 s here, 1,200 s by
default: minutes, not an hour), and is refreshed; the refreshes that were in flight at the
provider when the worker died are the one unavoidable loss with a strict rotating provider (it
rotated, the answer died with the worker), and they are told apart from a user's revocation:
`interrupted_refresh`, our incident."""

import os
import signal
import time

import pytest
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from integrations.models import Integration, Notice, OAuthCredential, RefreshRun
from sandbox import ops
from sandbox.faults import in_flight
from tests.conftest import create_integration, need
from tests.faults.harness import OwnRedis
from tests.workers.processes import Worker, product_env, redis_url, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.timeout(600)]
DUE = 32


@pytest.fixture
def env(sandbox, settings, tmp_path):
    url = redis_url()
    need(bool(url), "no REDIS_URL: the worker fault tests run in the PostgreSQL + Redis pass")
    # A Redis of its own: kombu's restore lock is one per Redis database, and another test's
    # killed worker may hold the shared one.
    redis = OwnRedis(tmp_path).start()
    # A short lease too: the redelivered batch waits out the killed holder's leases first.
    yield product_env(sandbox, settings, REDIS_URL=redis.url, CELERY_VISIBILITY_TIMEOUT=10,
                       INTEGRATIONS_REFRESH_LOCK_SECONDS=10, INTEGRATIONS_REFRESH_BATCH_SIZE=DUE,
                       INTEGRATIONS_REFRESH_BATCH_CONCURRENCY=16)
    redis.kill()


@pytest.fixture
def due(django_user_model):
    holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
    owner = django_user_model.objects.create_user("owner", "owner@example.com", "pw")
    integrations = [create_integration(owner, "sandbox", access_token=a, refresh_token=r,
                                       expires_in=600)
                    for a, r, _ in ops.issue_grants(holder, DUE)]
    OAuthCredential.objects.update(last_refreshed_at=timezone.now() - timezone.timedelta(hours=1))
    return integrations


def rotated() -> int:
    """Refresh tokens the sandbox has rotated away (its strict server revokes the old one)."""
    return get_refresh_token_model().objects.filter(revoked__isnull=False).count()


def refreshed_since(moment) -> int:
    return OAuthCredential.objects.filter(last_refreshed_at__gt=moment).count()


def test_it_hands_back_what_a_stopping_worker_has_not_started(sandbox, env, due):
    # SIGTERM (a deploy, a scale-down): the refreshes in flight finish and store their tokens;
    # the rest of the batch is not started but handed back to the queue, so the worker is gone
    # within one refresh, not a whole batch (a grace period that ran out used to SIGKILL it).
    sandbox.inject("token", "slow_answer", None, latency_ms=1500)
    started = timezone.now()
    worker = Worker(env, concurrency=1).start()
    try:
        assert worker.command("refresh_tokens", "--enqueue").returncode == 0
        assert wait_until(lambda: rotated() >= 4, timeout=60)
        os.kill(worker.proc.pid, signal.SIGTERM)  # warm shutdown
        worker.proc.wait(timeout=120)
        log = worker.proc.stdout.read()
    finally:
        worker.stop()
    in_flight = refreshed_since(started)
    print(f"\n[faults] SIGTERM: {in_flight} of {DUE} refreshed before the worker left")
    assert 0 < in_flight < DUE, log[-4000:]  # what was in flight, not the whole batch
    assert "handed back to the queue" in log, log[-4000:]
    assert rotated() == in_flight  # nothing the provider issued was left unstored

    again = Worker(env, concurrency=1, queue=worker.queue).start()
    try:
        assert wait_until(lambda: refreshed_since(started) == DUE, timeout=120)
        assert wait_until(lambda: RefreshRun.objects.get().batches_done == 2, timeout=30)
    finally:
        again.stop()
    assert not Integration.objects.exclude(status="active").exists()
    run = RefreshRun.objects.get()
    assert (run.batches_sent, run.batches_done) == (2, 2)  # health: nothing left pending


def test_it_brings_a_killed_workers_batch_back_in_seconds_and_owns_what_it_lost(
        sandbox, env, due):
    sandbox.inject("token", "slow_answer", None, latency_ms=3000)
    worker = Worker(env, concurrency=1).start()
    try:
        assert worker.command("refresh_tokens", "--enqueue").returncode == 0
        assert wait_until(lambda: rotated() >= 8, timeout=60)
    finally:
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(timeout=30)
    killed = timezone.now()
    sandbox.clear()
    in_flight.wait_idle(timeout=30)
    in_flight_at_kill = rotated()

    again = Worker(env, concurrency=1, queue=worker.queue).start()
    started = time.monotonic()
    try:
        def settled():
            done = OAuthCredential.objects.filter(last_refreshed_at__gt=killed).count()
            lost = Integration.objects.filter(status="reauth_required").count()
            return done + lost == DUE

        came_back = wait_until(settled, timeout=300)
        if not came_back:
            print(again.proc.stdout.read() if again.proc.poll() is not None else "")
        assert came_back, (
            "the killed worker's batch did not come back: "
            f"{OAuthCredential.objects.filter(last_refreshed_at__gt=killed).count()} refreshed, "
            f"{Integration.objects.filter(status='reauth_required').count()} flagged, codes "
            f"{sorted(OAuthCredential.objects.values_list('last_error_code', flat=True))}")
    finally:
        again.stop()
    recovered_in = time.monotonic() - started
    lost = Integration.objects.filter(status="reauth_required")
    codes = set(OAuthCredential.objects.filter(integration__in=lost).values_list(
        "last_error_code", flat=True))
    print(f"\n[faults] SIGKILL: batch back and settled in {recovered_in:.0f} s; "
          f"{lost.count()} of {DUE} lost in flight (at most 16 were), codes {codes}")
    assert lost.count() <= min(16, in_flight_at_kill)
    assert codes <= {"interrupted_refresh"}  # never "you revoked access"
    assert set(Notice.objects.values_list("error_code", flat=True)) <= {"interrupted_refresh"}
