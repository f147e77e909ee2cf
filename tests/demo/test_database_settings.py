"""The demo host's PostgreSQL connections cannot wait forever: connecting, a vanished peer and a
long statement each have a bound (config/settings.py, DATABASES)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]

SHOW_OPTIONS = ("import json; from config import settings; "
                "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))")


def settings_env(**extra):
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true")
    env.update(extra)
    return env


def options(**extra):
    r = subprocess.run([sys.executable, "-c", SHOW_OPTIONS], cwd=ROOT, env=settings_env(**extra),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_it_bounds_every_wait_on_postgresql():
    assert options(DATABASE_URL="postgres://app@db.example:5432/app") == {
        "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
        "keepalives_count": 3, "options": "-c statement_timeout=30000"}


def test_it_keeps_what_the_database_url_says_and_reads_the_statement_timeout():
    given = options(DATABASE_URL="postgres://app@db.example/app?sslmode=require&connect_timeout=2"
                                 "&options=-c%20lock_timeout%3D5000",
                    DB_STATEMENT_TIMEOUT_MS="120000")
    assert given["sslmode"] == "require" and given["connect_timeout"] == 2
    assert given["options"] == "-c lock_timeout=5000 -c statement_timeout=120000"
    assert given["keepalives"] == 1


def test_it_leaves_sqlite_alone(tmp_path):
    assert "statement_timeout" not in json.dumps(
        options(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"))


def test_it_gives_up_on_a_server_that_accepts_and_never_answers():
    # What a frozen PostgreSQL looks like to a client: the kernel completes the handshake,
    # nobody answers the startup packet. Without connect_timeout libpq waits forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        connect = ("from django.db import connection\n"
                   "try:\n connection.ensure_connection()\n"
                   "except Exception as exc:\n print(type(exc).__name__, exc)\n")
        r = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()\n" + connect], cwd=ROOT,
            env=settings_env(DATABASE_URL=f"postgres://app@127.0.0.1:{port}/app"),
            capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith("OperationalError") and "timeout expired" in r.stdout, r.stderr


@pytest.mark.postgres
def test_it_cancels_a_statement_that_runs_past_the_timeout(db):
    need(connection.vendor == "postgresql",
         "not on PostgreSQL: set DATABASE_URL=postgres://... (the PostgreSQL pass)")
    params = connection.connection.info.get_parameters()  # what libpq was given, and took
    names = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
             "keepalives_count")
    assert [params[n] for n in names] == ["5", "1", "30", "10", "3"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting, source FROM pg_settings WHERE name = 'statement_timeout'")
        expected = os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000")
        assert cursor.fetchone() == (expected, "client")  # every session of the host has it
        # The same mechanism with a timeout a test can wait out: the server cancels the
        # statement and the caller gets an error, not a hang.
        with pytest.raises(OperationalError, match="statement timeout"):
            with transaction.atomic():
                cursor.execute("SET LOCAL statement_timeout = 200")
                cursor.execute("SELECT pg_sleep(30)")
