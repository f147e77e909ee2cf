"""A real Celery worker on Redis picks up what `refresh_tokens --enqueue` hands it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import OAuthCredential
from tests.conftest import need
from tests.workers.processes import Worker, product_env, redis_reachable, redis_url, wait_until

pytestmark = pytest.mark.redis


@pytest.fixture
def worker(sandbox, settings):
    url = redis_url()
    need(bool(url), "no REDIS_URL: the real-worker tests run in the PostgreSQL + Redis pass")
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    w = Worker(product_env(sandbox, settings)).start()
    yield w
    w.stop()


def test_it_refreshes_through_a_real_worker(connect_many, sandbox, worker):
    integrations = connect_many(4)
    done = worker.command("refresh_tokens", "--enqueue")
    assert done.returncode == 0, done.stderr
    assert "enqueued 4" in done.stdout

    def all_refreshed():
        soon = timezone.now() + timedelta(minutes=30)
        return OAuthCredential.objects.filter(integration__in=integrations, expires_at__gt=soon).count() == 4

    assert wait_until(all_refreshed, timeout=90), worker.proc and "worker did not refresh in time"
    assert sandbox.token_requests("refresh_token") == 4
