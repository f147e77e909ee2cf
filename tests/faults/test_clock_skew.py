"""Two `refresh_tokens` processes at once on PostgreSQL, one with its clock 10 minutes ahead (or
behind) of the other and of the database's: the skewed one refuses to run and says why; the
other refreshes each credential once; no grant is lost and no expired token handed out. The
skew is injected into the child process (time-machine started from its sitecustomize); the
database's clock stays true."""

import re
import textwrap

import pytest

from sandbox import ops
from tests.conftest import need
from tests.faults.harness import OwnPostgres, Product
from tests.faults.test_database_restart import lost_grants
from tests.workers.processes import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]
DUE = 64


@pytest.fixture
def own_postgres():
    pg = OwnPostgres().start()
    yield pg
    pg.stop()


def skewed(tmp_path, minutes) -> dict:
    """An environment whose Python clock runs `minutes` off from the start."""
    site = tmp_path / f"skew{minutes}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import datetime, time_machine
        time_machine.travel(datetime.datetime.now(datetime.timezone.utc)
                            + datetime.timedelta(minutes={minutes})).start()
    """))
    return {"PYTHONPATH": f"{site}"}


@pytest.mark.parametrize("minutes", [10, -10])
def test_two_processes_with_skewed_clocks_refresh_each_credential_once(
        sandbox, settings, django_user_model, own_postgres, tmp_path, minutes):
    need(settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
         "the fault suite runs in the PostgreSQL pass")
    product = Product(tmp_path, own_postgres.url, sandbox, settings)
    product.manage("migrate", "--noinput")
    holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
    product.seed([("fleet", a, r) for a, r, _ in ops.issue_grants(holder, DUE)])
    sandbox.inject("token", "latency", None, latency_ms=300)  # slow provider: runs overlap

    env = skewed(tmp_path, minutes)
    env["PYTHONPATH"] += f":{product.env['PYTHONPATH']}"
    true = product.start("manage.py", "refresh_tokens", "--concurrency", "8", log_name="true")
    off = product.start("manage.py", "refresh_tokens", "--concurrency", "8", env=env,
                        log_name="skewed")
    assert off.wait(timeout=300) == 2
    assert true.wait(timeout=300) == 0, product.log("true")
    said = re.search(r"clock is (\d+)\.\d s (ahead of|behind) the database's", product.log("skewed"))
    assert said and 590 <= int(said[1]) <= 610 and said[2] == (
        "ahead of" if minutes > 0 else "behind")
    assert wait_until(lambda: sandbox.token_requests("refresh_token") == DUE, timeout=30)
    state = product.state()
    assert lost_grants(state) == []
    assert set(state["status"].values()) == {"active"}
    assert sandbox.token_requests("refresh_token") == DUE  # each refreshed once

    # The skewed process hands out no token either: one the database's clock calls expired 4
    # minutes ago looks valid for 6 more to a process 10 minutes behind.
    handed = product.manage("shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; "
        "from integrations import tokens; from integrations.models import Integration, "
        "OAuthCredential as C; C.objects.update(expires_at=timezone.now() - timedelta(minutes=4)); "
        "i = Integration.objects.first()\n"
        "try:\n    tokens.ensure_fresh(i); print('HANDED OUT')\n"
        "except tokens.RefreshFailed as e:\n    print('REFUSED', e.code)"), env=env)
    assert "REFUSED clock_skew" in handed.stdout, handed.stdout + handed.stderr
