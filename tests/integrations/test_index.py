import pytest

from integrations import tokens
from tests.helpers import page_text


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
    settings.GOOGLE_CLIENT_ID = "id"
    html = page_text(logged_in.get("/integrations/"))
    assert "Google Business Profile (sandbox)" in html and "Gmail" in html
    assert "Not configured" not in html  # staff only


def test_it_tells_staff_what_is_not_configured(db, client, staff, settings):
    settings.MICROSOFT_CLIENT_ID = ""
    client.force_login(staff)
    html = page_text(client.get("/integrations/"))
    assert "Not configured" in html and "Microsoft 365" in html


def test_it_shows_no_token(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox")
    html = page_text(logged_in.get("/integrations/"))
    assert integration.credential.access_token not in html
    assert "SECRET" not in html
