import pytest
from django.urls import reverse

from integrations.models import Integration

NEW_KEY = "a-brand-new-fernet-key-2c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f"


@pytest.fixture
def admin_client_(client, staff):
    client.force_login(staff)
    return client


def assert_no_tokens(html, *integrations):
    for integration in integrations:
        cred = integration.credential
        for token in (cred.access_token, cred.refresh_token):
            assert token not in html
    assert "SECRET" not in html


def test_it_lists_integrations_without_tokens(db, admin_client_, owner, make_integration):
    one = make_integration(owner)
    two = make_integration(owner, provider="gmail")
    r = admin_client_.get(reverse("admin:integrations_integration_changelist"))
    assert r.status_code == 200
    html = r.content.decode()
    assert one.display_name in html and two.display_name in html
    assert_no_tokens(html, one, two)


def test_it_shows_a_masked_credential_on_the_change_page(db, admin_client_, owner, make_integration):
    integration = make_integration(owner)
    r = admin_client_.get(reverse("admin:integrations_integration_change", args=[integration.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "access token set, refresh token set" in html
    assert_no_tokens(html, integration)


def test_it_filters_what_needs_attention(db, admin_client_, owner, make_integration):
    fine = make_integration(owner, display_name="fine@example.com")
    make_integration(owner, display_name="reauth@example.com", status="reauth_required")
    make_integration(owner, display_name="syncerr@example.com", last_sync_status="error")
    make_integration(owner, display_name="failing@example.com", refresh_failures=2)
    make_integration(owner, display_name="operator@example.com", last_error_code="invalid_client",
                     last_error_kind="operator")
    url = reverse("admin:integrations_integration_changelist") + "?attention=yes"
    html = admin_client_.get(url).content.decode()
    for name in ("reauth@", "syncerr@", "failing@", "operator@"):
        assert name in html
    assert fine.display_name not in html


@pytest.mark.leaks_expected  # the search box echoes the token the test itself typed in
def test_it_searches_by_account_not_by_token(db, admin_client_, owner, make_integration):
    integration = make_integration(owner, display_name="findme@example.com")
    url = reverse("admin:integrations_integration_changelist")
    assert "findme@" in admin_client_.get(url, {"q": "findme"}).content.decode()
    token = integration.credential.access_token
    html = admin_client_.get(url, {"q": token}).content.decode()
    assert "findme@" not in html


def test_it_renders_undecryptable_rows(db, admin_client_, owner, make_integration, settings):
    integration = make_integration(owner)
    tokens = (integration.credential.access_token, integration.credential.refresh_token)
    settings.INTEGRATIONS_FERNET_KEYS = [NEW_KEY]
    list_url = reverse("admin:integrations_integration_changelist")
    change_url = reverse("admin:integrations_integration_change", args=[integration.pk])
    for url in (list_url, change_url):
        r = admin_client_.get(url)
        assert r.status_code == 200
        assert not any(t in r.content.decode() for t in tokens)
    assert "undecryptable" in admin_client_.get(change_url).content.decode()


def test_it_refuses_admin_to_non_staff(db, client, owner):
    client.force_login(owner)
    r = client.get(reverse("admin:integrations_integration_changelist"))
    assert r.status_code == 302


def test_it_shows_the_history_inline(db, admin_client_, owner, make_integration):
    from integrations import tokens

    integration = make_integration(owner)
    tokens.mark_reauth_required(integration, "invalid_grant", "Token has been expired or revoked.")
    r = admin_client_.get(reverse("admin:integrations_integration_change", args=[integration.pk]))
    html = r.content.decode()
    assert "Status change" in html and "invalid_grant" in html
    integration.refresh_from_db()
    assert integration.status == Integration.Status.REAUTH_REQUIRED


def test_it_syncs_from_admin(connected, sandbox, client, staff, settings):
    settings.GBP_BACKFILL_DAYS = 3
    client.force_login(staff)
    r = client.post(reverse("admin:integrations_integration_changelist"),
                    {"action": "sync_now", "_selected_action": [connected.pk]}, follow=True)
    assert "Sync started for 1 integration" in r.content.decode()
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok"


def test_it_refreshes_from_admin(connected, sandbox, client, staff):
    before = connected.credential.access_token
    client.force_login(staff)
    r = client.post(reverse("admin:integrations_integration_changelist"),
                    {"action": "refresh_now", "_selected_action": [connected.pk]}, follow=True)
    assert "Refreshed 1, failed 0" in r.content.decode()
    connected.credential.refresh_from_db()
    assert connected.credential.access_token != before


def test_it_heads_the_credential_inline_in_words(db, admin_client_, owner, make_integration):
    integration = make_integration(owner)
    html = admin_client_.get(
        reverse("admin:integrations_integration_change", args=[integration.pk])).content.decode()
    assert "OAuth credential" in html and "o auth credential" not in html.lower()


def test_it_shows_a_read_only_change_page_without_save_or_delete(db, admin_client_, owner,
                                                                  make_integration):
    integration = make_integration(owner)
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    html = admin_client_.get(url).content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "deletelink" not in html and "Close" in html
    assert admin_client_.post(url, {}).status_code == 403


def test_it_says_each_failure_once_in_action_messages(connected, sandbox, client, staff, owner):
    sandbox.revoke_grant(owner)
    client.force_login(staff)
    r = client.post(reverse("admin:integrations_integration_changelist"),
                    {"action": "refresh_now", "_selected_action": [connected.pk]}, follow=True)
    html = r.content.decode()
    assert f"Integration {connected.pk}: invalid_grant" in html
    assert html.lower().count(f"integration {connected.pk}:") == 1
    assert "invalid_grant: invalid_grant" not in html
    assert "Refreshed 0, failed 1" in html


def test_it_keeps_the_last_error_column_short(db, admin_client_, owner, make_integration):
    long = "Google refused access (403). " + "An operator must enable the APIs. " * 10
    make_integration(owner, last_sync_status="error", last_sync_message=long)
    html = admin_client_.get(reverse("admin:integrations_integration_changelist")).content.decode()
    assert "overflow-wrap:anywhere" in html and "…" in html
