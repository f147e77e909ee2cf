"""Redis (the broker, without persistence) killed with refresh batches queued and no worker to
take them: the batches are gone with it, and the run's record says so, batches sent against
batches done, so health shows the unfinished work instead of `ok`."""

import json

import pytest

from sandbox import ops
from tests.faults.harness import OwnRedis, Product
from tests.workers.processes import database_url

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def test_health_shows_the_batches_a_lost_broker_took_with_it(
        sandbox, settings, django_user_model, tmp_path):
    redis = OwnRedis(tmp_path).start()
    try:
        product = Product(tmp_path, database_url(), sandbox, settings, REDIS_URL=redis.url,
                          CELERY_TASK_ALWAYS_EAGER="false", INTEGRATIONS_REFRESH_BATCH_SIZE=5)
        holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
        product.seed([("owner", a, r) for a, r, _ in ops.issue_grants(holder, 10)])
        sent = product.manage("refresh_tokens", "--enqueue")
        assert "enqueued 10 in 2 batch(es)" in sent.stdout
    finally:
        redis.kill()  # no worker ever took them; Redis kept nothing on disk
    health = json.loads(product.manage("shell", "-c", (
        "import json; from integrations.health import report; print(json.dumps(report()))"),
        env={"REDIS_URL": ""}).stdout.strip().splitlines()[-1])
    run = health["last_proactive_run"]
    assert (run["outcome"], run["batches_sent"], run["batches_done"]) == (
        "batches_pending", 2, 0), run
    assert sandbox.token_requests("refresh_token") == 0
