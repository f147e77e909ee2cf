"""SQLite's disk fills up in the middle of `refresh_tokens` (the embedded default, on a tmpfs of
the test's own), then an operator frees space: the tokens the provider issued meanwhile are
written once it can, none is lost, nobody is asked to reconnect."""

import os
import shutil
import subprocess

import pytest

from sandbox import ops
from tests.conftest import need
from tests.faults.harness import Product
from tests.faults.test_database_restart import lost_grants
from tests.workers.processes import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]
DUE = 200


@pytest.fixture
def small_disk(tmp_path):
    need(os.geteuid() == 0 and shutil.which("mount"), "mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk):
    """Take every free byte of the disk (the run's writes then fail with SQLITE_FULL)."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def test_it_loses_no_grant_when_the_disk_fills_mid_run(sandbox, settings, django_user_model,
                                                       small_disk, tmp_path):
    product = Product(tmp_path, f"sqlite:///{small_disk / 'db.sqlite3'}", sandbox, settings)
    product.manage("migrate", "--noinput")
    holder = django_user_model.objects.create_user("fleet", "fleet@example.com", "pw")
    product.seed([("fleet", a, r) for a, r, _ in ops.issue_grants(holder, DUE)])
    sandbox.inject("token", "latency", None, latency_ms=100)

    run = product.start("manage.py", "refresh_tokens", "--concurrency", "8", log_name="run")
    assert wait_until(lambda: sandbox.token_requests("refresh_token") >= DUE // 4, timeout=300)
    fill(small_disk)
    full_at = sandbox.token_requests("refresh_token")
    assert wait_until(lambda: "could not store the new tokens" in product.log("run"), timeout=60)
    (small_disk / "filler").unlink()  # the operator frees space within the retry period
    run.wait(timeout=600)
    product.manage("refresh_tokens", "--concurrency", "8", check=False)
    state = product.state()
    print(f"\n[faults] disk full after {full_at} token requests; first run exit {run.returncode}")
    assert lost_grants(state) == [], product.log("run")[-5000:]
    assert set(state["status"].values()) == {"active"}
    assert state["notices"] == 0 and product.emails() == 0
    assert "LOST GRANT" not in product.log("run")
