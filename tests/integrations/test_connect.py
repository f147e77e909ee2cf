from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import configure_provider, start


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_it_redirects_to_the_provider_with_state_and_pkce(db, logged_in, settings):
    configure_provider(settings, "google", client_id="google-client-id")
    url = start(logged_in, "google_business_profile")
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    q = query(url)
    assert q["client_id"] == "google-client-id"
    assert q["response_type"] == "code"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) >= 43
    assert len(q["state"]) >= 32
    assert q["access_type"] == "offline" and q["prompt"] == "consent"
    assert q["include_granted_scopes"] == "true"
    assert set(q["scope"].split()) == {
        "https://www.googleapis.com/auth/business.manage", "openid", "email"}
    assert "code_verifier" not in url


def test_it_builds_the_redirect_uri_from_the_base_url_not_the_host(db, logged_in, settings):
    configure_provider(settings, "google", client_id="google-client-id")
    settings.INTEGRATIONS_BASE_URL = "https://app.example.com"
    settings.ALLOWED_HOSTS = ["*"]  # even when a proxy lets any Host through
    r = logged_in.get("/integrations/connect/gmail/", HTTP_HOST="evil.example.net")
    assert query(r["Location"])["redirect_uri"] == "https://app.example.com/integrations/callback/gmail/"


def test_it_asks_microsoft_for_offline_access_on_the_configured_tenant(db, logged_in, settings):
    configure_provider(settings, "microsoft", client_id="ms-client",
                       tenant="contoso.onmicrosoft.com")
    url = start(logged_in, "microsoft")
    assert url.startswith("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?")
    assert "offline_access" in query(url)["scope"].split()


def test_it_keeps_several_flows_at_once(db, logged_in):
    first, second = start(logged_in), start(logged_in)
    states = logged_in.session["integrations_oauth_states"]
    assert {query(first)["state"], query(second)["state"]} <= set(states)


def test_it_caps_the_number_of_pending_flows(db, logged_in):
    for _ in range(8):
        start(logged_in)
    assert len(logged_in.session["integrations_oauth_states"]) == 5


def test_it_refuses_an_unconfigured_provider(db, logged_in, settings):
    configure_provider(settings, "amazon", client_id="")
    r = logged_in.get("/integrations/connect/amazon/")
    assert r.status_code == 302 and r["Location"] == "/integrations/"
    assert "integrations_oauth_states" not in logged_in.session


def test_it_404s_an_unknown_provider(db, logged_in):
    assert logged_in.get("/integrations/connect/nope/").status_code == 404


def test_it_requires_login(db, client):
    r = client.get("/integrations/connect/sandbox/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_it_drops_an_offsite_next(db, logged_in):
    start(logged_in, query="?next=https://evil.example.net/")
    start(logged_in, query="?next=//evil.example.net/")
    start(logged_in, query="?next=/integrations/%3Fok=1")
    nexts = [f["next"] for f in logged_in.session["integrations_oauth_states"].values()]
    assert sorted(nexts) == ["", "", "/integrations/?ok=1"]


def test_it_404s_a_reconnect_of_someone_elses_integration(db, logged_in, other, make_integration):
    theirs = make_integration(other)
    assert logged_in.get(f"/integrations/connect/sandbox/?integration={theirs.pk}").status_code == 404


@pytest.mark.parametrize("bad", ["%C2%B2", "%D9%A3", "1" * 5000, "9" * 30, "-1", "1e3", "%201"])
def test_it_404s_a_bad_integration_id(db, logged_in, bad):
    r = logged_in.get(f"/integrations/connect/sandbox/?integration={bad}")
    assert r.status_code == 404
    assert "integrations_oauth_states" not in logged_in.session


def test_it_starts_a_reconnect_of_your_own_integration(db, logged_in, owner, make_integration):
    mine = make_integration(owner, "sandbox")
    start(logged_in, query=f"?integration={mine.pk}")
    flows = logged_in.session["integrations_oauth_states"].values()
    assert [f["integration"] for f in flows] == [mine.pk]
