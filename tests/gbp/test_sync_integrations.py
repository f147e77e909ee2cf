
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
    sandbox.revoke_grant(second.connected_by)
    code, out = run("--integration", str(second.pk))
    assert code == 1 and f"integration {second.pk} sandbox" in out and "reauth_required" in out
    assert "synced 0, failed 1" in out


def test_it_refuses_a_provider_that_does_not_sync(db):
    with pytest.raises(CommandError) as error:
        call_command("sync_integrations", "--provider", "gmail")
    assert error.value.returncode == 2


def test_it_says_what_became_of_each_integration_asked_for(connect_many, sandbox):
    synced, broken = connect_many(2)
    broken.status = "reauth_required"
    broken.save()
    code, out = run("--integration", str(synced.pk), "--integration", str(broken.pk),
                    "--integration", "9999")
    assert code == 1
    assert f"integration {synced.pk} sandbox" in out and "Synced 9 locations: " in out
    assert f"integration {broken.pk}: needs reconnect (its owner must reconnect it); not synced" in out
    assert "integration 9999: no such integration; not synced" in out
    assert out.splitlines()[-1].startswith("synced 1, failed 0, not synced 2")


def test_it_exits_non_zero_for_a_single_integration_it_could_not_sync(db):
    code, out = run("--integration", "9999")
    assert code == 1 and "integration 9999: no such integration; not synced" in out
    assert out.splitlines()[-1].startswith("synced 0, failed 0, not synced 1")


def test_it_says_when_another_sync_of_it_is_under_way(connect_many, sandbox):
    from datetime import timedelta

    from django.utils import timezone

    from gbp import state as sync_state
    from gbp.models import GbpSyncState

    (integration,) = connect_many(1)
    sync_state.get(integration.pk)
    GbpSyncState.objects.filter(integration=integration).update(
        status="running", lease_owner="a-worker", lease_until=timezone.now() + timedelta(minutes=5))
    code, out = run("--integration", str(integration.pk))
    assert code == 1 and "another sync of it is under way; not synced" in out
    code, out = run()  # not asked for by id: reported, not a failure
    assert code == 0 and "skipped 1 (being synced elsewhere)" in out
