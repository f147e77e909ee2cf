""""Sync now" is throttled by account (owner, provider, account id), not by integration:
disconnecting, removing and connecting the same account again is no way around it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gbp.models import GbpSyncThrottle
from integrations import http
from integrations.models import Integration
from tests.helpers import connect, page_text
from tests.conftest import owner_of


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 3
    monkeypatch.setattr(http, "wait", lambda s: None)


def sync_now(client, integration):
    r = client.post(f"/integrations/gbp/{integration.pk}/sync/")
    assert r.status_code == 302
    return page_text(client.get(r["Location"]))


def remove_and_reconnect(client, sandbox, owner, integration):
    client.post(f"/integrations/{integration.pk}/disconnect/")
    assert client.post(f"/integrations/{integration.pk}/remove/").status_code == 302
    assert not Integration.objects.filter(pk=integration.pk).exists()
    assert connect(client, sandbox, owner).status_code == 302
    again = Integration.objects.get(connected_by=owner, provider="sandbox")
    assert again.pk != integration.pk and again.external_id == integration.external_id
    return again


def test_it_refuses_sync_now_after_a_remove_and_reconnect_within_the_interval(
        connected, sandbox, client, owner):
    assert "Sync finished." in sync_now(client, connected)
    again = remove_and_reconnect(client, sandbox, owner, connected)
    calls = sandbox.calls()

    html = sync_now(client, again)

    assert "You can sync it again in 5 minutes." in html and "Sync finished." not in html
    assert sandbox.calls() == calls  # not one API call
    assert not again.events.filter(kind="sync").exists()


def test_it_allows_sync_now_once_the_interval_has_passed(connected, sandbox, client, owner):
    sync_now(client, connected)
    again = remove_and_reconnect(client, sandbox, owner, connected)
    GbpSyncThrottle.objects.update(requested_at=timezone.now() - timedelta(minutes=5, seconds=1))
    assert "Sync finished." in sync_now(client, again)
    assert again.events.filter(kind="sync").count() == 1
    # The new click is the account's last one now, made on the new integration.
    throttle = GbpSyncThrottle.objects.get()
    assert throttle.integration_id == again.pk
    assert timezone.now() - throttle.requested_at < timedelta(minutes=1)


def test_it_keeps_one_row_per_account(connected, sandbox, client, owner, other):
    sync_now(client, connected)
    row = GbpSyncThrottle.objects.get()
    assert (row.owner_id, row.provider, row.external_id) == (owner_of(owner).pk, "sandbox",
                                                            connected.external_id)
    client.post(f"/integrations/{connected.pk}/disconnect/")
    client.post(f"/integrations/{connected.pk}/remove/")
    assert GbpSyncThrottle.objects.get().integration_id is None  # kept, the integration gone

    client.force_login(other)  # another user's account is throttled on its own
    assert connect(client, sandbox, other).status_code == 302
    theirs = Integration.objects.get(connected_by=other)
    assert "Sync finished." in sync_now(client, theirs)
    assert GbpSyncThrottle.objects.count() == 2
