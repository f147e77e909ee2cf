"""Single flight: many callers at once, one request to the provider, one token for all.

Runs against the sandbox with refresh-token rotation and reuse protection on, so a double
refresh would show up as an invalid_grant and a revoked family.
"""

import json
import signal
import subprocess
import sys
import threading
import time

from django.db import connection

from integrations import tokens
from integrations.models import OAuthCredential
from sandbox.models import Fault
from tests.workers.processes import ROOT, product_env


def assert_one_refresh_and_a_live_token(connected, sandbox, results):
    assert [r for r in results if "error" in r] == []
    assert len({r["token"] for r in results}) == 1
    assert sandbox.token_requests("refresh_token") == 1
    stored = OAuthCredential.objects.get(integration=connected)
    assert stored.access_token == results[0]["token"]
    assert (stored.lease_owner, stored.lease_until) == ("", None)  # every caller let go
    # The stored refresh token is the live one: no family was revoked.
    assert tokens.ensure_fresh(connected, force=True).access_token != results[0]["token"]


def slow_provider(sandbox):
    """One slow answer: every caller starts while the first refresh is still in flight, even on
    a loaded machine that schedules some threads late (a caller that starts after a forced
    refresh has finished may rightly refresh again)."""
    sandbox.inject("token", "latency", times=1, latency_ms=1500)


def test_it_refreshes_once_for_many_threads(connected, sandbox):
    slow_provider(sandbox)
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append({"token": tokens.ensure_fresh(connected, force=True).access_token})
        except tokens.TokenError as exc:
            results.append({"error": exc.code})
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(results) == 8
    assert_one_refresh_and_a_live_token(connected, sandbox, results)


def test_it_refreshes_once_for_four_processes_of_eight_threads(connected, sandbox, settings):
    slow_provider(sandbox)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.workers.refresh", str(connected.pk), "8", "--wait-for-go"],
            cwd=ROOT, env=product_env(sandbox, settings), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for proc in procs:  # every process imported, connected and waiting...
        assert proc.stdout.readline().strip() == "READY", proc.stderr.read()[-2000:]
    for proc in procs:  # ...then all 32 threads go at the same moment
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert len(results) == 32
    assert_one_refresh_and_a_live_token(connected, sandbox, results)


def test_it_recovers_from_a_holder_killed_mid_refresh(connected, sandbox, settings):
    settings.INTEGRATIONS_REFRESH_WAIT_SECONDS = 10
    before = OAuthCredential.objects.get(integration=connected)
    hang = sandbox.inject("token", "hang", times=1, latency_ms=4000)
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.workers.refresh", str(connected.pk), "1"],
        cwd=ROOT, env=product_env(sandbox, settings, INTEGRATIONS_REFRESH_LOCK_SECONDS="2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        # Kill it mid-request: it holds the lease and the sandbox has its request in hand.
        while not (OAuthCredential.objects.filter(integration=connected).exclude(lease_owner="")
                   .exists() and Fault.objects.get(pk=hang.pk).remaining == 0):
            assert time.monotonic() < deadline, "the helper never got its request under way"
            time.sleep(0.05)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    started = time.monotonic()
    cred = tokens.ensure_fresh(connected, force=True)
    waited = time.monotonic() - started
    assert waited < settings.INTEGRATIONS_REFRESH_WAIT_SECONDS  # bounded by the lease, not forever
    assert cred.access_token != before.access_token and cred.refresh_token != before.refresh_token
    assert tokens.ensure_fresh(connected, force=True).refresh_token != cred.refresh_token


def test_it_keeps_the_lease_while_a_slow_refresh_is_in_flight(connected, sandbox, settings):
    """A request that outlives the lease must not let a second refresh start (a strict provider
    would revoke the family on the reuse): the live holder renews its lease."""
    settings.INTEGRATIONS_REFRESH_LOCK_SECONDS = 2  # renewed every ~0.7 s while in flight
    settings.INTEGRATIONS_REFRESH_WAIT_SECONDS = 15
    sandbox.inject("token", "latency", times=1, latency_ms=5000)
    results = []

    def call(delay):
        time.sleep(delay)
        try:
            results.append({"token": tokens.ensure_fresh(connected, force=True).access_token})
        except tokens.TokenError as exc:
            results.append({"error": exc.code})
        finally:
            connection.close()

    # The later callers arrive after the unrenewed lease would have lapsed (2 s).
    threads = [threading.Thread(target=call, args=(d,)) for d in (0, 2.5, 3.5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert_one_refresh_and_a_live_token(connected, sandbox, results)
