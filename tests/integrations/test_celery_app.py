"""A host project without a Celery app of its own (no celery.py): the apps make one from its
Django settings, so CELERY_TASK_ALWAYS_EAGER and CELERY_BROKER_URL work as written; and the
check says so when tasks could never run."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import json, threading, django
    django.setup()
    from celery import current_app
    from integrations.tasks import deliver_notices
    seen = {}
    def look(where):
        seen[where] = [current_app.main, deliver_notices.app.conf.task_always_eager,
                       deliver_notices.app.conf.broker_url]
    look("main")
    thread = threading.Thread(target=look, args=("request thread",))
    thread.start(); thread.join()
    print(json.dumps(seen))
""")


def host(tmp_path, celery_settings: str):
    (tmp_path / "plainhost.py").write_text(textwrap.dedent(f"""
        SECRET_KEY = "plain-host-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
        INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "integrations"]
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
        INTEGRATIONS_FERNET_KEYS = ["plain-host-fernet-key-0123456789abcdefghijklmnop"]
        INTEGRATIONS_BASE_URL = "http://127.0.0.1:8000"
        USE_TZ = True
    """) + celery_settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(DJANGO_SETTINGS_MODULE="plainhost", PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    return env


def test_it_runs_tasks_in_process_as_the_settings_say_without_a_celery_py(tmp_path):
    env = host(tmp_path, "CELERY_TASK_ALWAYS_EAGER = True\n")
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Every thread (runserver and gunicorn serve requests on threads) sees the same app.
    assert seen == {"main": ["integrations", True, None],
                    "request thread": ["integrations", True, None]}


def test_it_warns_when_tasks_would_go_nowhere(tmp_path):
    env = host(tmp_path, "")
    done = subprocess.run([sys.executable, "-m", "django", "check"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "integrations.W004" in done.stderr and "CELERY_BROKER_URL" in done.stderr
    assert "REDIS_URL" not in done.stderr  # no name only the demo host uses
    assert "integrations.W006" in done.stderr  # SQLite writers that would not wait
