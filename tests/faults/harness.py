"""What the fault suite runs the product against: a PostgreSQL cluster of the test's own (never
the shared one), a Redis of its own, and the product in processes of its own pointed at them,
while the sandbox (the strict rotating token server) runs in the test process on the suite's
database. So the product's database can be restarted, filled or cut off without touching the
provider's.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import need
from tests.workers.processes import ROOT, wait_until

RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1]


class OwnPostgres:
    """A throwaway PostgreSQL cluster on a free port, run as the `postgres` system user."""

    def __init__(self):
        need(bool(pg_bin("initdb")) and os.path.exists(pg_bin("initdb")),
             "PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        need(os.geteuid() == 0, "the fault suite starts PostgreSQL clusters as root (runuser)")
        # Not under pytest's tmp_path: the postgres user cannot enter it (0700, root's).
        base = Path(tempfile.mkdtemp(prefix="stay-connected-pg-"))
        os.chmod(base, 0o755)
        self.base = base
        self.dir = base / "pgdata"
        self.sock = base / "pgsock"
        self.port = free_port()
        self.log = base / "postgres.log"

    def _as_postgres(self, *args, timeout=120):
        return subprocess.run([RUNUSER, "-u", "postgres", "--", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, check=True)

    def start(self):
        shutil.chown(self.base, "postgres")
        self.sock.mkdir(exist_ok=True)
        shutil.chown(self.sock, "postgres")
        self._as_postgres(pg_bin("initdb"), "-D", self.dir, "-U", "postgres", "-A", "trust",
                          "--no-sync", "-E", "UTF8")
        self.log.touch()
        shutil.chown(self.log, "postgres")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action, *extra):
        options = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=100")
        self._as_postgres(pg_bin("pg_ctl"), "-D", self.dir, "-o", options, "-l", self.log, "-w",
                          action, *extra)

    def restart(self):
        self._pg_ctl("restart", "-m", "fast")

    def _signal_all(self, sig):
        """The postmaster first (it forks no new backend while stopped), then every backend."""
        postmaster = int((self.dir / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                                  text=True).stdout.split()
        for pid in (postmaster, *map(int, children)):
            os.kill(pid, sig)

    def freeze(self):
        """Every server process stopped (SIGSTOP): connections stay open, the kernel still
        acknowledges what is sent, nothing answers; as a paused VM or container."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self):
        self._signal_all(signal.SIGCONT)

    def stop(self):
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"


class OwnRedis:
    """A Redis server of the test's own (no persistence), killable."""

    def __init__(self, base: Path):
        need(bool(shutil.which("redis-server")), "redis-server is not installed")
        self.port = free_port()
        self.proc = None
        self.base = base

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: _listening(self.port), timeout=20), "redis did not start"
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _listening(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Product:
    """The product's commands in processes of their own, on a database of their own, pointed at
    the sandbox served by the test process."""

    def __init__(self, base: Path, database_url: str, sandbox, settings, **extra):
        self.base = base
        self.mail = base / "mail"
        self.mail.mkdir(exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PYTEST_", "DJANGO_", "TEST_SQLITE"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings_test", PYTHONPATH=str(ROOT),
            DATABASE_URL=database_url, INTEGRATIONS_BASE_URL=sandbox.base_url,
            INTEGRATIONS_PROVIDERS=json.dumps({"sandbox": settings.INTEGRATIONS_PROVIDERS[
                "sandbox"]}),
            EMAIL_URL=f"filemail:///{self.mail}", LOG_LEVEL="INFO", CELERY_TASK_ALWAYS_EAGER="true",
            INTEGRATIONS_MAX_CLOCK_SKEW_SECONDS="5")
        self.env.update({k: str(v) for k, v in extra.items()})

    def manage(self, *args, timeout=600, check=True, env=None):
        proc = subprocess.run([sys.executable, "manage.py", *map(str, args)], cwd=ROOT,
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(map(str, args))}: exit {proc.returncode}\n"
                                 f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
        return proc

    def start(self, *args, env=None, log_name="command"):
        log = (self.base / f"{log_name}.log").open("w")
        return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT,
                                env={**self.env, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name="command") -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def seed(self, grants):
        """Integrations whose credentials hold the sandbox's grants, due for a refresh."""
        path = self.base / "grants.json"
        path.write_text(json.dumps(grants))
        self.manage("shell", "-c", SEED.format(path=str(path)))

    def state(self) -> dict:
        out = self.manage("shell", "-c", STATE).stdout
        return json.loads(out.strip().splitlines()[-1])

    def emails(self) -> int:
        return len(list(self.mail.iterdir()))


def kill_group(proc, sig=signal.SIGKILL):
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


SEED = """
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from integrations.models import Integration, OAuthCredential
grants = json.load(open({path!r}))
now = timezone.now()
users = {{}}
for n, (username, access, refresh) in enumerate(grants):
    if username not in users:
        users[username] = get_user_model().objects.create_user(username, username + '@example.com', 'pw')
    i = Integration.objects.create(owner=users[username].teams.first(), connected_by=users[username],
                                   provider='sandbox', external_id=f'acct-{{n}}',
                                   display_name=f'{{username}}-{{n}}@example.com')
    OAuthCredential.objects.create(integration=i, access_token=access, refresh_token=refresh,
                                   expires_at=now + timedelta(minutes=10), scopes=['openid'],
                                   last_refreshed_at=now - timedelta(hours=1))
"""

STATE = """
import json
from integrations.models import Integration, Notice, OAuthCredential, RefreshRun
creds = {c.integration_id: {'refresh_token': c.refresh_token if isinstance(c.refresh_token, str) else None,
                            'lease': c.lease_owner, 'code': c.last_error_code,
                            'refreshed': c.last_refreshed_at.isoformat() if c.last_refreshed_at else None}
         for c in OAuthCredential.objects.all()}
status = dict(Integration.objects.values_list('pk', 'status'))
runs = [{'outcome': r.outcome, 'finished': bool(r.finished_at), 'stopped': r.stopped,
         'refreshed': r.refreshed, 'due': r.due, 'sent': r.batches_sent, 'done': r.batches_done}
        for r in RefreshRun.objects.order_by('started_at')]
print(json.dumps({'creds': creds, 'status': status, 'runs': runs,
                  'notices': Notice.objects.count()}))
"""
