"""Sync now and its progress through the API (gbp/api.py), over real HTTP against the sandbox:
the page's rules (one at a time, the per-account interval), its progress and its plain words."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gbp import state as sync_state
from gbp.models import GbpSyncState
from integrations import http
from tests.helpers import api_call


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)


def test_it_syncs_now_and_says_what_the_sync_did(connected, client, sandbox):
    status, data = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert status == 202  # run in the request on the embedded default: already over
    assert data["syncing"] is False and data["last_sync"]["status"] == "ok"
    assert data["result"].startswith("Synced 9 locations")
    assert api_call(client, "GET", f"integrations/{connected.pk}/sync") == (200, data)


def test_it_throttles_a_second_click_like_the_page(connected, client, sandbox):
    assert api_call(client, "POST", f"integrations/{connected.pk}/sync")[0] == 202
    calls = sandbox.calls()
    status, error = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert (status, error["code"]) == (429, "sync_throttled")
    assert 290 <= error["retry_after"] <= 300
    assert error["message"] == ("This account was synced moments ago. You can sync it again in 5 "
                                "minutes.")
    assert sandbox.calls() == calls and connected.events.filter(kind="sync").count() == 1


def test_it_shows_a_sync_under_way(connected, client):
    sync_state.get(connected.pk)
    GbpSyncState.objects.filter(integration=connected).update(
        status="running", lease_owner="a-worker", lease_until=timezone.now() + timedelta(minutes=5),
        locations_done=3, locations_total=9)
    status, data = api_call(client, "GET", f"integrations/{connected.pk}/sync")
    assert status == 200
    assert (data["syncing"], data["text"], data["done"], data["total"]) == (
        True, "Syncing… 3 of 9 locations", 3, 9)
    status, error = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert (status, error["code"]) == (409, "sync_under_way")


def test_it_words_a_failed_sync_plainly(connected, client, sandbox):
    sandbox.inject("accounts", "403")
    status, data = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert status == 202 and data["last_sync"]["status"] == "error"
    assert data["result"] == "This account's data can't be synced right now; we've been told."
    status, entry = api_call(client, "GET", f"integrations/{connected.pk}")
    assert entry["sync_failing"] is True and entry["action"] == "contact_support"


def test_it_does_not_sync_a_connection_that_needs_reconnecting(connected, client, sandbox,
                                                                owner):
    sandbox.revoke_grant(owner)
    assert api_call(client, "POST", f"integrations/{connected.pk}/refresh")[0] == 409
    status, error = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert (status, error["code"], error["requires_reauth"]) == (409, "cannot_sync", True)


def test_it_throttles_sync_now_per_user(connected, client, settings):
    settings.INTEGRATIONS_API_THROTTLE_RATES = {"sync": "1/min"}
    assert api_call(client, "POST", f"integrations/{connected.pk}/sync")[0] == 202
    status, error = api_call(client, "POST", f"integrations/{connected.pk}/sync")
    assert (status, error["code"]) == (429, "throttled")
