"""PostgreSQL restarted (`pg_ctl restart -m fast`) in the middle of `refresh_tokens`: no grant
the provider issued is lost, nobody is wrongly told to reconnect, no lease outlives the restart,
and the run's record is closed with its counts. The product runs in processes of their own on a
cluster of the test's own; the sandbox (a strict rotating token server: reusing a rotated refresh
token revokes the grant) answers from the test process, 100 ms a request. And the same cluster
frozen (every process SIGSTOPped) mid-run: the queries it never answers are dropped at their
deadline, and still nothing is lost."""

import time

import pytest

from sandbox import ops
from tests.conftest import need
from tests.faults.harness import OwnPostgres, Product
from tests.workers.processes import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]
DUE = 400


@pytest.fixture
def own_postgres():
    pg = OwnPostgres().start()
    yield pg
    pg.stop()


def lost_grants(state) -> list[int]:
    """Integrations whose stored refresh token the provider no longer accepts."""
    return sorted(int(pk) for pk, cred in state["creds"].items()
                  if not cred["refresh_token"] or not ops.refresh_token_is_live(
                      cred["refresh_token"]))


def test_it_loses_no_grant_when_postgresql_restarts_mid_run(
        sandbox, settings, django_user_model, own_postgres, tmp_path):
    need(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
         "the fault suite runs in the PostgreSQL pass (its sandbox shares the suite's database)")
    product = Product(tmp_path, own_postgres.url, sandbox, settings)
    product.manage("migrate", "--noinput")
    holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
    product.seed([("fleet", access, refresh)
                  for access, refresh, _ in ops.issue_grants(holder, DUE)])
    sandbox.inject("token", "latency", None, latency_ms=100)

    run = product.start("manage.py", "refresh_tokens", "--concurrency", "16", log_name="run")
    assert wait_until(lambda: sandbox.token_requests("refresh_token") >= DUE // 4, timeout=300)
    own_postgres.restart()  # ~1 s down; every refresh in flight then meets a dead connection
    run.wait(timeout=600)
    first = product.log("run")
    second = product.manage("refresh_tokens", "--concurrency", "16", check=False)
    state = product.state()

    print(f"\n[faults] first run exit {run.returncode}; second run exit {second.returncode}: "
          f"{second.stdout.strip()[-300:]}")
    assert lost_grants(state) == [], first[-6000:]
    assert set(state["status"].values()) == {"active"}  # nobody told to reconnect
    assert state["notices"] == 0 and product.emails() == 0
    assert [pk for pk, cred in state["creds"].items() if cred["lease"]] == []
    assert all(run["finished"] for run in state["runs"])  # no record left "running"
    stopped = state["runs"][0]
    if run.returncode == 2:  # the restart stopped it: it says so, with its counts
        assert stopped["stopped"].startswith("database unavailable"), stopped
        assert "stopped:" in first and "refreshed " in first
    assert sum(r["refreshed"] for r in state["runs"]) == DUE
    assert "LOST GRANT" not in first


FROZEN_SECONDS = 8


def test_it_drops_the_queries_a_frozen_postgresql_never_answers(
        sandbox, settings, django_user_model, own_postgres, tmp_path):
    """Every PostgreSQL process stopped (SIGSTOP) for 8 s mid-run: keepalives pass and no
    statement timeout fires; the token service's queries give up after their deadline (2 s
    here), say so, and the writes of issued tokens are retried until the server answers."""
    need(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
         "the fault suite runs in the PostgreSQL pass (its sandbox shares the suite's database)")
    product = Product(tmp_path, own_postgres.url, sandbox, settings,
                      INTEGRATIONS_DB_DEADLINE_SECONDS=2)
    product.manage("migrate", "--noinput")
    holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
    due = 160
    product.seed([("fleet", access, refresh)
                  for access, refresh, _ in ops.issue_grants(holder, due)])
    sandbox.inject("token", "latency", None, latency_ms=100)

    run = product.start("manage.py", "refresh_tokens", "--concurrency", "16", log_name="run")
    assert wait_until(lambda: sandbox.token_requests("refresh_token") >= due // 4, timeout=300)
    own_postgres.freeze()
    try:
        time.sleep(FROZEN_SECONDS)
    finally:
        own_postgres.thaw()
    run.wait(timeout=600)
    first = product.log("run")
    second = product.manage("refresh_tokens", "--concurrency", "16", check=False)
    state = product.state()

    print(f"\n[faults] frozen {FROZEN_SECONDS} s: first run exit {run.returncode}; "
          f"{first.count('had no answer after 2 s')} queries dropped at their deadline; second "
          f"run exit {second.returncode}")
    assert "had no answer after 2 s" in first, first[-6000:]  # the stall surfaced, and was said
    assert lost_grants(state) == [], first[-6000:]
    assert set(state["status"].values()) == {"active"}
    assert state["notices"] == 0 and product.emails() == 0
    assert [pk for pk, cred in state["creds"].items() if cred["lease"]] == []
    assert all(run["finished"] for run in state["runs"])
    assert sum(r["refreshed"] for r in state["runs"]) == due
    assert "LOST GRANT" not in first
