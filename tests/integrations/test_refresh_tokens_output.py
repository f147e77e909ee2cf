"""What refresh_tokens prints: a bar on a terminal, quiet under cron, JSON alone on --json."""

import io
import json
import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations import http
from integrations.models import OAuthCredential
from tests.workers.processes import ROOT, product_env


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(http, "wait", lambda seconds: None)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_it_shows_a_bar_that_knows_its_total_on_a_terminal(connect_many, sandbox):
    connect_many(3)
    out = Terminal()
    call_command("refresh_tokens", "-v", "2", stdout=out)
    text = out.getvalue()
    assert "3/3" in text and "100%" in text and " integrations" in text
    assert "3integration" not in text
    # Per-integration lines are written above the bar, each on its own line.
    assert sum(line.endswith(": refreshed") for line in text.splitlines()) == 3


def test_it_is_quiet_under_cron_and_chatty_with_v2(connect_many, sandbox, caplog):
    connect_many(3)
    caplog.clear()  # the connects' own log lines
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="integrations"):
        call_command("refresh_tokens", stdout=out)
    assert out.getvalue().splitlines() == [out.getvalue().strip()]  # one summary line
    assert not [r for r in caplog.records if r.levelno < logging.WARNING
                and r.name.startswith("integrations")]
    caplog.clear()
    OAuthCredential.objects.update(expires_at=timezone.now() + timedelta(minutes=10),
                                   last_refreshed_at=timezone.now() - timedelta(hours=1))
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="integrations"):
        call_command("refresh_tokens", "-v", "2", stdout=out)
    assert "integration" in out.getvalue()
    assert any(r.name == "integrations.tokens" and r.levelno == logging.INFO
               for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_it_prints_one_line_under_cron_not_the_fernet_keys_warning(tmp_path):
    # As cron runs it: its own process, no terminal, development settings without FERNET_KEYS
    # (the configuration that makes `manage.py check` print its W001 warning block).
    env = product_env(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="true", LOG_LEVEL="INFO")
    env.pop("FERNET_KEYS", None)
    done = subprocess.run([sys.executable, "manage.py", "refresh_tokens"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refreshed 0") and len(done.stdout.splitlines()) == 1
    assert "W001" not in done.stderr and "FERNET_KEYS" not in done.stderr


def test_it_prints_nothing_but_json_even_when_an_email_goes_to_the_console(
        connect_many, sandbox, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    _, broken = connect_many(2)
    sandbox.revoke_grant(broken.connected_by)
    with pytest.raises(SystemExit):  # 1: one needs re-authentication
        call_command("refresh_tokens", "--json")
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["reauth"] == 1 and data["refreshed"] == 1
    assert "Reconnect your" in captured.err  # the email went to stderr instead
