"""Helpers that run parts of the product in real processes (workers, commands) for tests."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def redis_reachable(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=2).close()
        return True
    except OSError:
        return False


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = db["PASSWORD"] or ""
    return f"postgres://{db['USER']}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def product_env(sandbox=None, settings=None, **extra) -> dict:
    """Environment for a child process on the test database, pointed at the sandbox."""
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="config.settings_test", DATABASE_URL=database_url(),
               PYTHONPATH=str(ROOT))
    if sandbox is not None:
        env.update(INTEGRATIONS_BASE_URL=sandbox.base_url, INTEGRATIONS_PROVIDERS=json.dumps(
            {"sandbox": settings.INTEGRATIONS_PROVIDERS["sandbox"]}))
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Worker:
    """A real Celery worker (prefork) on Redis, on a queue of its own."""

    def __init__(self, env, concurrency=2, queue=None):
        self.queue = queue or f"test-{uuid.uuid4().hex[:8]}"
        self.env = dict(env, CELERY_TASK_ALWAYS_EAGER="false", CELERY_TASK_DEFAULT_QUEUE=self.queue)
        self.concurrency = concurrency
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "-Q", self.queue, "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"{self.queue}@%h"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=30)

    def command(self, *args, timeout=120):
        """Run a manage.py command that enqueues onto this worker's queue."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)


def wait_until(predicate, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Server:
    """The product served by Django's dev server in a process of its own (its own Celery
    configuration from `env`), on a free loopback port."""

    def __init__(self, env):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = env
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        assert wait_until(up, timeout=60), "the dev server did not start"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=30)
