""""Sync now": queued (run in-process on the embedded default), throttled, its progress shown,
and never reported as a success when it failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gbp import state as sync_state
from gbp.models import GbpSyncState
from integrations import http
from tests.helpers import page_text


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)


def sync_now(client, integration):
    r = client.post(f"/integrations/gbp/{integration.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == f"/integrations/gbp/{integration.pk}/"
    return page_text(client.get(r["Location"]))


def test_it_refuses_a_second_click_within_the_interval(connected, sandbox, client):
    assert "Sync finished." in sync_now(client, connected)
    calls = sandbox.calls()
    html = sync_now(client, connected)
    assert "You can sync it again in 5 minutes." in html and "Sync finished." not in html
    assert sandbox.calls() == calls  # not one API call
    assert connected.events.filter(kind="sync").count() == 1


def test_it_syncs_again_once_the_interval_has_passed(connected, sandbox, client):
    sync_now(client, connected)
    GbpSyncState.objects.filter(integration=connected).update(
        requested_at=timezone.now() - timedelta(minutes=5, seconds=1))
    assert "Sync finished." in sync_now(client, connected)
    assert connected.events.filter(kind="sync").count() == 2


def test_it_never_reports_success_for_a_failed_sync(connected, sandbox, client):
    sandbox.inject("accounts", "403")
    html = sync_now(client, connected)
    assert "The sync did not finish" in html and "msg-error" in html
    assert "Sync finished" not in html and 'msg-success" role="status">Sync' not in html


def test_it_shows_a_sync_under_way_with_its_progress(connected, client):
    sync_state.get(connected.pk)
    GbpSyncState.objects.filter(integration=connected).update(
        status="running", lease_owner="a-worker", lease_until=timezone.now() + timedelta(minutes=5),
        locations_done=3, locations_total=9)
    html = page_text(client.get(f"/integrations/gbp/{connected.pk}/"))
    assert "Syncing… 3 of 9 locations" in html
    assert 'class="btn btn-primary" disabled' in html
    status = client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()
    assert status == {"syncing": True, "text": "Syncing… 3 of 9 locations", "done": 3, "total": 9}


def test_it_refuses_sync_now_while_a_sync_is_under_way(connected, sandbox, client):
    sync_state.get(connected.pk)
    GbpSyncState.objects.filter(integration=connected).update(
        status="running", lease_owner="a-worker", lease_until=timezone.now() + timedelta(minutes=5))
    html = sync_now(client, connected)
    assert "A sync of this account is already under way" in html
    assert sandbox.calls("accounts") == 1  # the connect-time label only


def queue_without_worker(monkeypatch):
    """Messages "sent" to a broker that no worker reads: kept here, never run."""
    from gbp import tasks

    queued = []
    monkeypatch.setattr(tasks.sync_integration, "delay",
                        lambda integration_id, since=None: queued.append((integration_id, since)))
    return queued


def test_it_says_the_sync_was_queued_when_a_worker_will_run_it(connected, client, monkeypatch):
    queued = queue_without_worker(monkeypatch)
    html = sync_now(client, connected)
    assert [pk for pk, _ in queued] == [connected.pk]
    assert "Sync queued" in html and 'disabled' in html  # the page follows it until it is done
    assert client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()["syncing"]


def test_it_says_when_no_worker_picked_the_sync_up_and_lets_it_be_retried(
        connected, client, monkeypatch, settings):
    settings.GBP_SYNC_PICKUP_SECONDS = 60
    queued = queue_without_worker(monkeypatch)
    sync_now(client, connected)
    GbpSyncState.objects.filter(integration=connected).update(
        requested_at=timezone.now() - timedelta(seconds=61))
    status = client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()
    assert not status["syncing"] and "No background worker has picked this sync up" in status["text"]
    html = page_text(client.get(f"/integrations/gbp/{connected.pk}/"))
    assert "No background worker has picked this sync up" in html
    assert 'class="btn btn-primary" disabled' not in html
    assert "Sync queued" in sync_now(client, connected)  # queued again, not throttled
    assert len(queued) == 2 and queued[1][1] > queued[0][1]  # each with its own click time


def test_it_drops_a_sync_no_worker_started_when_the_account_is_reconnected(
        connected, sandbox, client, owner, monkeypatch):
    from tests.helpers import connect

    queue_without_worker(monkeypatch)
    sync_now(client, connected)
    assert client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()["syncing"]
    connect(client, sandbox, owner, query=f"?integration={connected.pk}")
    state = GbpSyncState.objects.get(integration=connected)
    assert state.status == "idle"
    status = client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()
    assert not status["syncing"] and status["text"] == ""
    assert "You can sync it again in 5 minutes" in sync_now(client, connected)  # no way around


def test_it_skips_a_late_copy_of_a_sync_that_already_ran(connected, sandbox, client):
    from gbp.tasks import sync_integration

    clicked = timezone.now()
    assert "Sync finished." in sync_now(client, connected)
    assert sync_integration.delay(connected.pk, since=clicked.isoformat()).get()["skipped"]
    assert connected.events.filter(kind="sync").count() == 1


def test_it_says_so_when_the_sync_cannot_be_queued(connected, client, monkeypatch):
    from gbp import tasks

    def broker_down(integration_id, since=None):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.sync_integration, "delay", broker_down)
    html = sync_now(client, connected)
    assert "could not be started" in html and "nothing for you to do" in html
    assert not client.get(f"/integrations/gbp/{connected.pk}/sync/status/").json()["syncing"]


def test_it_keeps_the_status_of_someone_elses_sync_private(connected, client, other):
    client.force_login(other)
    assert client.get(f"/integrations/gbp/{connected.pk}/sync/status/").status_code == 404
    assert client.post(f"/integrations/gbp/{connected.pk}/sync/status/").status_code == 405


def test_it_resumes_a_paused_sync_when_asked_after_its_resume_time(connected, sandbox, client):
    sync_state.get(connected.pk)
    paused = {"status": "paused", "started_at": timezone.now() - timedelta(minutes=10),
              "locations_done": 4, "locations_total": 9}
    GbpSyncState.objects.filter(integration=connected).update(
        **paused, resume_at=timezone.now() + timedelta(minutes=3))
    html = sync_now(client, connected)
    assert "Paused for Google&#x27;s quota after 4 of 9 locations; resumes at" in html
    assert "already under way" in html
    GbpSyncState.objects.filter(integration=connected).update(
        resume_at=timezone.now() - timedelta(seconds=1))
    assert "Sync now resumes it." in page_text(client.get(f"/integrations/gbp/{connected.pk}/"))
    assert "Sync finished." in sync_now(client, connected)
    assert GbpSyncState.objects.get(integration=connected).status == "idle"
