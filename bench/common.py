"""Shared set-up for the benchmarks: a database of their own, a loopback token server."""

import os
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django():
    """Django on DATABASE_URL if given, else a fresh SQLite file; migrated; DEBUG off."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    if "DATABASE_URL" not in os.environ:
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["SANDBOX_ENABLED"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@contextmanager
def token_server(latency_ms=0.0):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.token_server", "--latency-ms", str(latency_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().split()[1])
        yield f"http://127.0.0.1:{port}/token"
    finally:
        proc.kill()
        proc.wait()


def use_provider(token_url):
    """Declare the benchmark's provider in settings (a generic OAuth 2.0 provider)."""
    from django.test.utils import override_settings

    override_settings(INTEGRATIONS_PROVIDERS={"bench": {
        "name": "Bench", "authorize_url": "http://127.0.0.1/authorize", "token_url": token_url,
        "client_id": "bench-client", "client_secret": "bench-secret", "scopes": ["read"],
    }}).enable()


def make_integrations(n, *, expires_in=timedelta(hours=1), batch=2000):
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User
    from integrations.conf import owner_model_name
    from integrations.models import Integration, OAuthCredential

    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    # The owner is the user, or (the demo host's team owner model) the user's own team.
    owner = user if owner_model_name() == settings.AUTH_USER_MODEL else user.teams.first()
    Integration.objects.filter(connected_by=user).delete()
    now = timezone.now()
    for start in range(0, n, batch):
        rows = Integration.objects.bulk_create([
            Integration(owner=owner, connected_by=user, provider="bench", external_id=f"acct-{i}",
                        display_name=f"acct-{i}@example.com")
            for i in range(start, min(n, start + batch))
        ])
        OAuthCredential.objects.bulk_create([
            OAuthCredential(integration=row, access_token=f"old-access-{row.pk}",
                            refresh_token=f"old-refresh-{row.pk}", expires_at=now + expires_in)
            for row in rows
        ])
    return Integration.objects.filter(connected_by=user).order_by("pk")


class QueryCounter:
    """Counts every statement on every connection of this process (one per pool thread)."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)

    def install(self):
        """On every connection: the ones open now and the ones opened later."""
        from django.db import connections
        from django.db.backends.signals import connection_created

        def count_on(sender, connection, **kwargs):
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)

        connection_created.connect(count_on, weak=False)
        for conn in connections.all():
            if self not in conn.execute_wrappers:
                conn.execute_wrappers.append(self)
        return self
