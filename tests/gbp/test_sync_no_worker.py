""""Sync now" sent to a real broker (Redis) that no worker reads: the page says so within the
pickup window, Sync now may be pressed again, and the worker that finally starts runs the sync
once."""

import re
import time

import pytest

from tests.conftest import need
from tests.workers.processes import (Server, Worker, product_env, redis_reachable, redis_url,
                                     wait_until)

pytestmark = pytest.mark.redis


def csrf(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def test_it_says_no_worker_picked_the_sync_up_and_runs_it_once_when_one_does(
        connected, sandbox, settings):
    url = redis_url()
    need(bool(url), "no REDIS_URL: the real-broker tests run in the PostgreSQL + Redis pass")
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    worker = Worker(product_env(sandbox, settings))  # its queue; not started yet
    server = Server(dict(worker.env, GBP_SYNC_PICKUP_SECONDS="3", DEBUG="false")).start()
    try:
        browser = sandbox.browser(connected.connected_by)
        detail = f"{server.url}/integrations/gbp/{connected.pk}/"
        page = browser.get(detail, timeout=10)
        answer = browser.post(f"{detail}sync/", data={"csrfmiddlewaretoken": csrf(page.text)},
                              headers={"Referer": detail}, timeout=30)
        assert "Sync queued" in answer.text, answer.text[:2000]
        status = browser.get(f"{detail}sync/status/", timeout=10).json()
        assert status["syncing"]
        time.sleep(3.5)  # the pickup window (a minute by default)
        status = browser.get(f"{detail}sync/status/", timeout=10).json()
        assert not status["syncing"] and "No background worker" in status["text"]
        page = browser.get(detail, timeout=10)
        assert "No background worker has picked this sync up" in page.text
        again = browser.post(f"{detail}sync/", data={"csrfmiddlewaretoken": csrf(page.text)},
                             headers={"Referer": detail}, timeout=30)
        assert "Sync queued" in again.text, again.text[:2000]  # not throttled: nothing ran

        worker.start()  # two messages wait for it; one sync runs, the other is skipped

        def synced():
            return connected.events.filter(kind="sync").exists() and not browser.get(
                f"{detail}sync/status/", timeout=10).json()["syncing"]

        assert wait_until(synced, timeout=120), "the worker did not sync"
        time.sleep(2)  # the second message, if it were to sync again
        assert connected.events.filter(kind="sync").count() == 1
    finally:
        server.stop()
        worker.stop()
