"""Production settings, checked in a separate process (settings are read once per process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **extra):
    # A clean environment: nothing of the test settings' defaults leaks into production.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="prod-" + "k3y" * 20,
        FERNET_KEYS="prod-fernet-" + "f" * 40,
        ALLOWED_HOSTS="app.example.com",
        INTEGRATIONS_BASE_URL="https://app.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    env.update(extra)
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_it_passes_check_deploy_with_production_settings(tmp_path):
    r = manage(production_env(tmp_path), "check", "--deploy")
    assert r.returncode == 0, r.stdout + r.stderr
    # The one warning left is HSTS preload, an explicit opt-in (SECURE_HSTS_PRELOAD=true).
    warnings = [line for line in (r.stdout + r.stderr).splitlines() if "(security.W" in line]
    assert all("security.W021" in line for line in warnings), warnings


def test_it_refuses_to_run_without_fernet_keys_in_production(tmp_path):
    env = production_env(tmp_path)
    del env["FERNET_KEYS"]
    r = manage(env, "check")
    assert r.returncode != 0
    assert "FERNET_KEYS" in r.stderr + r.stdout


def test_it_flags_an_enabled_sandbox_in_a_deploy_check(tmp_path):
    env = production_env(tmp_path, SANDBOX_ENABLED="true", SANDBOX_ALLOW_WITHOUT_DEBUG="true")
    r = manage(env, "check", "--deploy")
    assert r.returncode != 0
    assert "sandbox.E001" in r.stderr + r.stdout


def test_it_refuses_to_start_the_sandbox_with_debug_off(tmp_path):
    r = manage(production_env(tmp_path, SANDBOX_ENABLED="true"), "check")
    assert r.returncode != 0
    assert "ImproperlyConfigured" in r.stderr and "SANDBOX_ALLOW_WITHOUT_DEBUG" in r.stderr


def test_it_starts_the_sandbox_with_debug_on(tmp_path):
    r = manage(production_env(tmp_path, SANDBOX_ENABLED="true", DEBUG="true"), "check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_it_mounts_no_sandbox_with_production_settings(tmp_path):
    code = (
        "import django, sys; django.setup();"
        "from django.conf import settings; from django.urls import resolve, Resolver404;"
        "assert 'sandbox' not in settings.INSTALLED_APPS;"
        "assert 'oauth2_provider' not in settings.INSTALLED_APPS;\n"
        "try:\n resolve('/sandbox/o/token/'); sys.exit(3)\n"
        "except Resolver404:\n print('not mounted')\n"
        "assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE\n"
        "assert settings.SECURE_HSTS_SECONDS > 0 and settings.SECURE_SSL_REDIRECT"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=production_env(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "not mounted" in r.stdout


def test_it_has_no_missing_migrations(tmp_path):
    r = manage(production_env(tmp_path), "makemigrations", "--check", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr


def test_it_refuses_a_placeholder_client_id_in_a_deploy_check(tmp_path):
    r = manage(production_env(tmp_path, GOOGLE_CLIENT_ID="...", GOOGLE_CLIENT_SECRET="..."),
               "check", "--deploy")
    assert r.returncode != 0
    out = r.stderr + r.stdout
    assert "integrations.E005" in out and 'INTEGRATIONS_PROVIDERS["google"]["client_id"]' in out


def test_it_accepts_a_real_looking_client_id(tmp_path):
    env = production_env(tmp_path, GOOGLE_CLIENT_ID="1234-abc.apps.googleusercontent.com",
                         GOOGLE_CLIENT_SECRET="GOCSPX-" + "s" * 28)
    r = manage(env, "check", "--deploy")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("key", ["new-long-random-key", "short-key", "SECRET_KEY"])
def test_it_refuses_a_weak_or_example_fernet_key_in_production(tmp_path, key):
    env = production_env(tmp_path)
    env["FERNET_KEYS"] = env["SECRET_KEY"] if key == "SECRET_KEY" else key
    r = manage(env, "check", "--deploy")
    assert r.returncode != 0
    out = r.stderr + r.stdout
    assert "integrations.E006" in out and "secrets.token_urlsafe" in out  # how to make one
    assert env["FERNET_KEYS"] not in out  # the key itself is never printed


def test_it_only_warns_about_a_development_key_with_debug_on(tmp_path):
    env = production_env(tmp_path, DEBUG="true")
    del env["FERNET_KEYS"]  # the demo derives one from SECRET_KEY in development
    r = manage(env, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "integrations.W001" in r.stderr + r.stdout
