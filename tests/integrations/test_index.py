from html import unescape

import pytest

from integrations import tokens
from tests.helpers import configure_provider, page_text


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_it_shows_a_card_per_integration(db, logged_in, owner, make_integration):
    make_integration(owner, "sandbox", display_name="shop@example.com")
    html = page_text(logged_in.get("/integrations/"))
    assert "shop@example.com" in html and "Connected" in html
    assert "Sync now" in html and "Disconnect" in html


def test_it_shows_only_the_owners_integrations(db, logged_in, owner, other, make_integration):
    make_integration(other, display_name="bobs@example.com")
    assert "bobs@example.com" not in page_text(logged_in.get("/integrations/"))


def test_it_offers_reconnect_in_plain_words(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox")
    tokens.mark_reauth_required(integration, "invalid_grant", "Token has been expired or revoked.")
    html = page_text(logged_in.get("/integrations/"))
    assert "Needs reconnect" in html and "Reconnect" in html
    assert "revoked or has expired" in html
    assert "invalid_grant" not in html


def test_it_tells_users_an_operator_problem_is_not_theirs(db, logged_in, owner, make_integration):
    make_integration(owner, "sandbox", last_error_code="invalid_client",
                     last_error_kind="operator")
    html = page_text(logged_in.get("/integrations/"))
    assert "nothing for you to do" in html and "Reconnect" not in html


def test_it_lists_providers_to_connect(db, logged_in, settings):
    configure_provider(settings, "google", client_id="id")
    html = page_text(logged_in.get("/integrations/"))
    assert "Google Business Profile (sandbox)" in html and "Gmail" in html
    assert "Not configured" not in html  # staff only


def test_it_tells_staff_what_is_not_configured(db, client, staff, settings):
    configure_provider(settings, "microsoft", client_id="")
    client.force_login(staff)
    html = page_text(client.get("/integrations/"))
    assert "Not configured" in html and "Microsoft 365" in html


def test_it_shows_no_token(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox")
    html = page_text(logged_in.get("/integrations/"))
    assert integration.credential.access_token not in html
    assert "SECRET" not in html


OPERATOR_TEXT = ("Google refused access (403). An operator must enable the My Business APIs for "
                 "the Google Cloud project. Google said: My Business Business Information API "
                 "has not been used in project 123456789 before or it is disabled. Enable it by "
                 "visiting https://console.developers.google.com/apis/api/x?project=123456789")


def failed_sync(integration, code, message=OPERATOR_TEXT):
    from django.utils import timezone

    from integrations.models import Integration, IntegrationEvent

    Integration.objects.filter(pk=integration.pk).update(
        last_sync_status="error", last_sync_message=message, last_synced_at=timezone.now())
    IntegrationEvent.objects.record(integration.pk, "sync", "error", error_code=code,
                                    message=message)


def test_it_shows_a_failing_sync_in_plain_words(db, logged_in, owner, make_integration):
    failed_sync(make_integration(owner, "sandbox"), "permission_denied")
    html = unescape(page_text(logged_in.get("/integrations/")))
    assert "Connected" in html and "Sync failing" in html
    assert "This account's data can't be synced right now; we've been told." in html
    assert "123456789" not in html and "operator must enable" not in html.lower()
    assert "console.developers.google.com" not in html
    assert "Needs reconnect" not in html


def test_it_says_a_temporary_sync_failure_will_be_retried(db, logged_in, owner, make_integration):
    failed_sync(make_integration(owner, "sandbox"), "http_503", "Google's API was unavailable")
    html = page_text(logged_in.get("/integrations/"))
    assert "Sync failing" in html and "the next sync will try again" in html
    assert "Google's API was unavailable" not in html


def test_it_says_when_only_part_of_a_sync_failed(db, logged_in, owner, make_integration):
    failed_sync(make_integration(owner, "sandbox"), "bad_data",
                "Synced 8 of 9 location(s); 1 item(s) failed: location locations/3: title")
    html = unescape(page_text(logged_in.get("/integrations/")))
    assert "Some of this account's data couldn't be synced; the rest is up to date." in html
    assert "locations/3" not in html


def test_it_shows_the_granted_permissions_and_since_when(db, logged_in, owner, make_integration):
    make_integration(owner, "sandbox", scopes=[
        "openid", "email", "https://www.googleapis.com/auth/business.manage"])
    html = page_text(logged_in.get("/integrations/"))
    assert "Connected since" in html and "Permissions" in html
    assert ">business.manage<" in html
    assert 'title="https://www.googleapis.com/auth/business.manage"' in html


def test_it_says_just_now_not_zero_minutes_ago(db, logged_in, owner, make_integration):
    from django.utils import timezone

    make_integration(owner, "sandbox", last_refreshed_at=timezone.now())
    html = page_text(logged_in.get("/integrations/"))
    assert "just now" in html and "0 minutes ago" not in html


def test_it_offers_another_account_where_one_is_connected(db, logged_in, owner, make_integration):
    html = page_text(logged_in.get("/integrations/"))
    assert "Add another account" not in html
    make_integration(owner, "sandbox")
    html = page_text(logged_in.get("/integrations/"))
    assert html.count("Add another account") == 1


def test_it_offers_to_remove_a_disconnected_integration(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox", status="disconnected")
    failed_sync(integration, "reauth_required", "Reconnect needed: invalid_grant")
    html = page_text(logged_in.get("/integrations/"))
    assert f'action="/integrations/{integration.pk}/remove/"' in html and ">Remove<" in html
    assert "no longer updated" in html
    assert "Last sync" not in html and "Reconnect needed" not in html
    assert "Disconnect<" not in html
