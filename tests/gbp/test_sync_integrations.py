
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations import http, tokens
from tests.helpers import run_command


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)


def run(*args):
    return run_command("sync_integrations", *args)


def test_it_syncs_and_summarises(connect_many, sandbox):
    connect_many(2)
    code, out = run()
    assert code == 0 and out.startswith("synced 2, failed 0")


def test_it_reports_failures_and_exits_1(connect_many, sandbox):
    first, second = connect_many(2)
    sandbox.revoke_grant(second.user)
    code, out = run("--integration", str(second.pk))
    assert code == 1 and f"integration {second.pk} sandbox" in out and "reauth_required" in out
    assert "synced 0, failed 1" in out


def test_it_refuses_a_provider_that_does_not_sync(db):
    with pytest.raises(CommandError) as error:
        call_command("sync_integrations", "--provider", "gmail")
    assert error.value.returncode == 2
