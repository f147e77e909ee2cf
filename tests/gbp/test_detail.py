import pytest

from gbp.sync import GbpSyncService
from tests.helpers import page_text


@pytest.fixture(autouse=True)
def small_backfill(settings):
    settings.GBP_BACKFILL_DAYS = 35


def test_it_shows_an_overview_of_the_locations_after_a_sync(connected, sandbox, client):
    GbpSyncService().sync(connected)
    html = page_text(client.get(f"/integrations/gbp/{connected.pk}/"))
    assert "Overview of 9 locations" in html
    assert html.count('class="sparkline"') == 9  # a trend line per row
    for label in ("Impressions", "Calls", "Website clicks", "Directions", "Unanswered"):
        assert label in html
    for location in connected.gbp_locations.all():
        assert f'href="/integrations/gbp/{connected.pk}/locations/{location.pk}/' in html
    cred = connected.credential
    assert cred.access_token not in html and cred.refresh_token not in html


def test_it_invites_a_first_sync(connected, client):
    assert "press Sync now" in page_text(client.get(f"/integrations/gbp/{connected.pk}/"))


def test_it_syncs_now_on_post(connected, sandbox, client):
    r = client.post(f"/integrations/gbp/{connected.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == f"/integrations/gbp/{connected.pk}/"
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok"  # eager on the embedded default
    assert "Sync finished." in page_text(client.get(r["Location"]))


def test_it_refuses_to_sync_a_disconnected_integration(connected, sandbox, client):
    client.post(f"/integrations/{connected.pk}/disconnect/")
    r = client.post(f"/integrations/gbp/{connected.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == "/integrations/"
    connected.refresh_from_db()
    assert connected.last_sync_status == "never"


def locations(integration, titles):
    from gbp.models import GbpAccount, GbpLocation

    account = GbpAccount.objects.create(integration=integration, name="accounts/1")
    return [GbpLocation.objects.create(integration=integration, account=account,
                                       name=f"locations/{n}", title=title)
            for n, title in enumerate(titles)]


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_it_offers_reconnect_where_it_says_reconnect(db, logged_in, owner, make_integration):
    from integrations import tokens

    integration = make_integration(owner, "sandbox")
    tokens.mark_reauth_required(integration, "invalid_grant", "Token has been expired or revoked.")
    html = page_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert "Reconnect to continue." in html
    link = f'href="/integrations/connect/sandbox/?integration={integration.pk}&amp;next='
    assert link in html and ">Reconnect</a>" in html


def test_it_says_the_data_of_a_disconnected_integration_is_not_updated(db, logged_in, owner,
                                                                       make_integration):
    integration = make_integration(owner, "sandbox", status="disconnected")
    locations(integration, ["Bakery"])
    html = page_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert "no longer updated" in html and "Bakery" in html
    assert f'action="/integrations/{integration.pk}/remove/"' in html
    assert "Connect again" in html and "Sync now" not in html


def test_it_lists_locations_in_natural_order(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox")
    locations(integration, ["Bakery #130", "Bakery #12", "bakery #2"])
    html = page_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert "Overview of 3 locations" in html
    assert html.index("bakery #2") < html.index("Bakery #12") < html.index("Bakery #130")


def test_it_shows_users_plain_words_when_google_refuses(connected, sandbox, client):
    from html import unescape

    sandbox.inject("metrics", "403", times=None)
    GbpSyncService().sync(connected)
    connected.refresh_from_db()
    assert connected.last_sync_status == "error"
    assert "123456789" in connected.last_sync_message  # operators keep the detail
    for url in (f"/integrations/gbp/{connected.pk}/", "/integrations/"):
        html = unescape(page_text(client.get(url)))
        assert "can't be synced right now; we've been told" in html and "Sync failing" in html
        for operator_text in ("Cloud project", "123456789", "operator must enable",
                              "console.developers.google.com"):
            assert operator_text not in html, (url, operator_text)
