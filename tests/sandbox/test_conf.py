"""sandbox.conf.configure(): what a settings module gets, and when it refuses."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from sandbox.conf import configure


def settings_module(**values):
    return {"INSTALLED_APPS": ["integrations"], "INTEGRATIONS_BASE_URL": "http://x", **values}


def test_it_refuses_to_run_with_debug_off(monkeypatch):
    monkeypatch.delenv("SANDBOX_ALLOW_WITHOUT_DEBUG", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SANDBOX_ALLOW_WITHOUT_DEBUG"):
        configure(settings_module(DEBUG=False))


@pytest.mark.parametrize("allowed", [False, "false", "0", ""])
def test_it_refuses_anything_but_an_explicit_yes(monkeypatch, allowed):
    monkeypatch.delenv("SANDBOX_ALLOW_WITHOUT_DEBUG", raising=False)
    with pytest.raises(ImproperlyConfigured):
        configure(settings_module(DEBUG=False, SANDBOX_ALLOW_WITHOUT_DEBUG=allowed))


def test_it_runs_with_debug_off_when_allowed(monkeypatch):
    monkeypatch.delenv("SANDBOX_ALLOW_WITHOUT_DEBUG", raising=False)
    s = settings_module(DEBUG=False, SANDBOX_ALLOW_WITHOUT_DEBUG=True)
    configure(s)
    assert "sandbox" in s["INSTALLED_APPS"] and s["SANDBOX_ENABLED"]


def test_it_reads_the_permission_from_the_environment(monkeypatch):
    monkeypatch.setenv("SANDBOX_ALLOW_WITHOUT_DEBUG", "true")
    s = settings_module(DEBUG=False)
    configure(s)
    assert s["SANDBOX_ALLOW_WITHOUT_DEBUG"] is True


def test_it_runs_with_debug_on(monkeypatch):
    monkeypatch.delenv("SANDBOX_ALLOW_WITHOUT_DEBUG", raising=False)
    configure(settings_module(DEBUG=True))
