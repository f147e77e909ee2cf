import pytest

from gbp.sync import GbpSyncService
from tests.helpers import page_text


@pytest.fixture(autouse=True)
def small_backfill(settings):
    settings.GBP_BACKFILL_DAYS = 35


def test_it_draws_a_chart_per_location_after_a_sync(connected, sandbox, client):
    GbpSyncService().sync(connected)
    html = page_text(client.get(f"/integrations/gbp/{connected.pk}/"))
    assert html.count("<svg") == 9 * 2  # impressions, and actions on their own scale
    assert html.count('class="series"') == 9 * 4
    for label in ("Impressions", "Calls", "Website clicks", "Directions"):
        assert f'data-label="{label}"' in html
    assert "Latest reviews" in html and "★" in html and "Reply:" in html
    cred = connected.credential
    assert cred.access_token not in html and cred.refresh_token not in html


def test_it_invites_a_first_sync(connected, client):
    assert "press Sync now" in page_text(client.get(f"/integrations/gbp/{connected.pk}/"))


def test_it_syncs_now_on_post(connected, sandbox, client):
    r = client.post(f"/integrations/gbp/{connected.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == f"/integrations/gbp/{connected.pk}/"
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok"  # eager on the embedded default
    assert "Sync started" in page_text(client.get(r["Location"]))


def test_it_refuses_to_sync_a_disconnected_integration(connected, sandbox, client):
    client.post(f"/integrations/{connected.pk}/disconnect/")
    r = client.post(f"/integrations/gbp/{connected.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == "/integrations/"
    connected.refresh_from_db()
    assert connected.last_sync_status == "never"
