"""`manage.py sandbox` in a project that turned the sandbox on but has not migrated since: a
plain message, not a "no such table" traceback."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_asks_for_migrate_before_registering_the_client(tmp_path):
    (tmp_path / "newsandbox.py").write_text(textwrap.dedent(f"""
        SECRET_KEY = "new-sandbox-host-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
        DEBUG = True
        INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                          "django.contrib.sessions", "integrations"]
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3",
                                  "NAME": "{tmp_path / 'db.sqlite3'}"}}}}
        INTEGRATIONS_FERNET_KEYS = ["new-sandbox-host-fernet-key-0123456789abcdefghijkl"]
        INTEGRATIONS_BASE_URL = "http://127.0.0.1:8000"
        CELERY_TASK_ALWAYS_EAGER = True
        USE_TZ = True
        from sandbox.conf import configure
        configure(vars())
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SANDBOX_"))}
    env.update(DJANGO_SETTINGS_MODULE="newsandbox", PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    done = subprocess.run([sys.executable, "-m", "django", "sandbox", "register"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert "run `python manage.py migrate` first" in done.stderr
    assert "Traceback" not in done.stderr
