"""Connect and reconnect through the API, over real HTTP against the sandbox: the API answers the
provider's authorize URL, the callback sends the browser back to the frontend with the outcome in
the query; the pages' own flow is unchanged (tests/integrations/test_callback.py)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.models import Integration
from tests.helpers import api_call, api_connect, connect, outcome_of


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_it_connects_and_returns_to_the_frontend_with_the_outcome(sandbox, logged_in, owner):
    back = api_connect(logged_in, sandbox, owner,
                       body={"provider": "sandbox", "return_to": "/app/#/settings"})
    integration = Integration.objects.get()
    assert integration.status == "active" and integration.connected_by == owner
    assert back["Location"] == f"/app/?outcome=connected&integration={integration.pk}#/settings"
    assert not logged_in.session.get("_messages")  # the frontend words it, not a page of ours


def test_it_returns_to_the_configured_frontend_by_default(sandbox, logged_in, owner, settings):
    settings.INTEGRATIONS_API_RETURN_URL = "https://app.example.com/connections?tab=all"
    back = api_connect(logged_in, sandbox, owner)
    assert back["Location"].startswith("https://app.example.com/connections?tab=all&outcome="
                                       "connected&integration=")
    # A return_to on the frontend's origin is allowed; another site's is not.
    ok = api_call(logged_in, "POST", "integrations/connect", {
        "provider": "sandbox", "return_to": "https://app.example.com/elsewhere"})
    assert ok[0] == 200
    status, error = api_call(logged_in, "POST", "integrations/connect", {
        "provider": "sandbox", "return_to": "https://evil.example.net/"})
    assert (status, error["code"]) == (422, "invalid_return_to")


def test_it_starts_a_flow_with_state_and_pkce(sandbox, logged_in):
    status, data = api_call(logged_in, "POST", "integrations/connect", {"provider": "sandbox"})
    assert status == 200
    query = parse_qs(urlsplit(data["authorize_url"]).query)
    assert query["code_challenge_method"] == ["S256"]
    states = logged_in.session["integrations_oauth_states"]
    assert states[query["state"][0]]["api_return"] == "/integrations/"


def test_it_says_declined_and_errors_in_the_query(sandbox, logged_in, owner):
    assert outcome_of(api_connect(logged_in, sandbox, owner, allow=False)) == {
        "outcome": "declined"}
    sandbox.inject("token", "500", times=None)
    assert outcome_of(api_connect(logged_in, sandbox, owner)) == {
        "outcome": "error", "code": "exchange_failed"}
    assert not Integration.objects.exists()


def test_it_reconnects_a_revoked_grant_on_the_same_row(sandbox, logged_in, owner):
    assert connect(logged_in, sandbox, owner).status_code == 302
    integration = Integration.objects.get()
    sandbox.revoke_grant(owner)
    status, error = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert (status, error["code"], error["requires_reauth"]) == (409, "reauth_required", True)
    status, data = api_call(logged_in, "GET", f"integrations/{integration.pk}")
    assert data["requires_reauth"] is True and data["action"] == "reconnect"
    assert data["reason"] == ("Google Business Profile (sandbox) says our access was revoked or "
                              "has expired. Reconnect to continue.")

    back = api_connect(logged_in, sandbox, owner, f"integrations/{integration.pk}/reconnect",
                       {"return_to": "/app/"})
    assert outcome_of(back) == {"outcome": "reconnected", "integration": str(integration.pk)}
    assert Integration.objects.get().pk == integration.pk
    status, data = api_call(logged_in, "GET", f"integrations/{integration.pk}")
    assert (data["status"], data["requires_reauth"], data["action"]) == ("active", False, None)


def test_it_refuses_an_unknown_or_unconfigured_provider(sandbox, logged_in):
    status, error = api_call(logged_in, "POST", "integrations/connect", {"provider": "nope"})
    assert (status, error["code"]) == (404, "unknown_provider")
    status, error = api_call(logged_in, "POST", "integrations/connect", {"provider": "amazon"})
    assert (status, error["code"]) == (409, "provider_not_configured")


def test_it_throttles_connect_starts_per_user(sandbox, logged_in, settings):
    settings.INTEGRATIONS_API_THROTTLE_RATES = {"connect": "2/min"}
    start = {"provider": "sandbox"}
    for _ in range(2):
        assert api_call(logged_in, "POST", "integrations/connect", start)[0] == 200
    status, error = api_call(logged_in, "POST", "integrations/connect", start)
    assert (status, error["code"]) == (429, "throttled") and error["retry_after"] >= 1
