"""The OAuth callback, over real HTTP against the sandbox: every way it can go wrong."""

import time

import pytest
import requests

from integrations.models import Integration, IntegrationEvent, OAuthCredential
from sandbox import data
from sandbox.conf import GBP_SCOPE
from tests.helpers import configure_provider, connect, finish, no_integrations, page_text, start, state_of


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_it_connects_and_stores_encrypted_tokens(sandbox, logged_in, owner):
    r = connect(logged_in, sandbox, owner)
    assert r.status_code == 302 and r["Location"] == "/integrations/"
    integration = Integration.objects.get()
    assert integration.connected_by == owner and integration.provider == "sandbox"
    assert integration.status == "active"
    assert integration.external_id == data.subject_id(owner.username)
    # The account's email, and the Business Profile account it manages.
    assert integration.display_name == f"{owner.email} · {data.accounts(owner.username)[0]['accountName']}"
    cred = integration.credential
    assert cred.access_token and cred.refresh_token and cred.expires_at
    assert GBP_SCOPE in cred.scopes
    assert integration.events.get().kind == IntegrationEvent.Kind.CONNECTED
    # The access token works at the provider.
    me = requests.get(sandbox.url("userinfo"), timeout=10,
                      headers={"Authorization": f"Bearer {cred.access_token}"})
    assert me.status_code == 200


def test_it_connects_even_before_google_grants_api_access(sandbox, logged_in, owner):
    sandbox.inject("accounts", "403")  # a project without Business Profile API access yet
    assert connect(logged_in, sandbox, owner).status_code == 302
    assert Integration.objects.get().display_name == owner.email


def test_it_cleans_the_state_from_the_session(sandbox, logged_in, owner):
    connect(logged_in, sandbox, owner)
    assert logged_in.session["integrations_oauth_states"] == {}


def test_it_rejects_a_forged_state(sandbox, logged_in, owner):
    back = sandbox.consent(owner, start(logged_in))
    r = finish(logged_in, back.replace("state=", "state=forged"))
    assert r.status_code == 403
    assert "not belong to a connection you started" in page_text(r)
    assert no_integrations()


def test_it_rejects_a_missing_state(sandbox, logged_in, owner):
    r = logged_in.get("/integrations/callback/sandbox/", {"code": "abc"})
    assert r.status_code == 400 and no_integrations()


def test_it_rejects_a_replayed_state(sandbox, logged_in, owner):
    back = sandbox.consent(owner, start(logged_in))
    assert finish(logged_in, back).status_code == 302
    Integration.objects.all().delete()
    r = finish(logged_in, back)
    assert r.status_code == 403 and no_integrations()


def test_it_rejects_an_expired_state(sandbox, logged_in, owner):
    url = start(logged_in)
    session = logged_in.session
    states = session["integrations_oauth_states"]
    states[state_of(url)]["created"] = time.time() - 601
    session["integrations_oauth_states"] = states
    session.save()
    r = finish(logged_in, sandbox.consent(owner, url))
    assert r.status_code == 403 and "expired" in page_text(r)
    assert no_integrations()


def test_it_rejects_a_state_from_another_provider(sandbox, logged_in, owner, settings):
    configure_provider(settings, "google", client_id="google-client-id")
    google_state = state_of(start(logged_in, "google_business_profile"))
    r = logged_in.get("/integrations/callback/sandbox/", {"state": google_state, "code": "x"})
    assert r.status_code == 403 and "different provider" in page_text(r)
    assert no_integrations()


def test_it_rejects_a_state_started_by_another_user(sandbox, client, owner, other):
    client.force_login(owner)
    url = start(client)
    back = sandbox.consent(owner, url)
    client.force_login(other)  # same browser session store, another user
    session = client.session
    session["integrations_oauth_states"] = {state_of(url): {
        "provider": "sandbox", "user": owner.pk, "verifier": "v" * 64,
        "created": time.time(), "next": "", "integration": None}}
    session.save()
    assert finish(client, back).status_code == 403
    assert no_integrations()


def test_it_says_you_declined_on_access_denied(sandbox, logged_in, owner):
    r = connect(logged_in, sandbox, owner, allow=False)
    assert r.status_code == 302
    page = logged_in.get(r["Location"])
    assert "You declined to connect" in page_text(page)
    assert no_integrations()


@pytest.mark.parametrize("kind,status,body", [
    ("html", None, ""),
    ("empty_json", None, ""),
    ("malformed_json", None, ""),
    ("status", 200, '{"token_type": "Bearer", "expires_in": 3600}'),
    ("503", None, ""),
    ("invalid_grant", None, ""),
])
def test_it_stores_nothing_from_a_malformed_token_response(sandbox, logged_in, owner, kind, status,
                                                          body):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("token", kind, status=status, body=body)
    r = finish(logged_in, back)
    assert r.status_code in (400, 502)
    assert "Nothing was stored" in page_text(r)
    assert no_integrations() and not OAuthCredential.objects.exists()


def test_it_stores_nothing_without_a_refresh_token(sandbox, logged_in, owner):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("token", "strip_refresh_token")
    r = finish(logged_in, back)
    assert r.status_code == 400
    assert "offline access" in page_text(r)
    assert no_integrations()


def test_it_stores_nothing_without_a_required_scope(sandbox, logged_in, owner):
    r = connect(logged_in, sandbox, owner, drop_scopes=[GBP_SCOPE])
    assert r.status_code == 400
    text = page_text(r)
    assert GBP_SCOPE in text and "Try again" in text
    assert no_integrations()


def test_it_stores_nothing_when_the_identity_cannot_be_read(sandbox, logged_in, owner):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("userinfo", "503")
    r = finish(logged_in, back)
    assert r.status_code == 502 and no_integrations()


def test_it_reconnects_the_same_row_after_a_revoke(sandbox, logged_in, owner):
    from integrations import tokens

    connect(logged_in, sandbox, owner)
    integration = Integration.objects.get()
    sandbox.revoke_grant(owner)
    with pytest.raises(tokens.ReauthRequired):
        tokens.ensure_fresh(integration, force=True)
    integration.refresh_from_db()
    assert integration.status == "reauth_required"

    page = page_text(logged_in.get("/integrations/"))
    assert "Needs reconnect" in page and f"?integration={integration.pk}" in page
    r = connect(logged_in, sandbox, owner, query=f"?integration={integration.pk}")
    assert r.status_code == 302

    again = Integration.objects.get()
    assert again.pk == integration.pk and again.status == "active"
    assert again.credential.refresh_failures == 0 and again.credential.last_error_code == ""
    kinds = list(again.events.order_by("id").values_list("kind", flat=True))
    assert kinds[0] == "connected" and kinds[-1] == "reconnected" and "status" in kinds


def test_it_shows_no_token_on_any_page(sandbox, logged_in, owner):
    r = connect(logged_in, sandbox, owner)
    cred = Integration.objects.get().credential
    for url in ("/integrations/", r["Location"], f"/integrations/{cred.integration_id}/"):
        html = page_text(logged_in.get(url))
        assert cred.access_token not in html and cred.refresh_token not in html


@pytest.mark.parametrize("sub", [{"id": "1"}, ["1"], True, 1.5, "x" * 400, "", "a\nb"])
def test_it_stores_nothing_from_an_unusable_account_id(sandbox, logged_in, owner, sub):
    import json

    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("userinfo", "status", status=200,
                   body=json.dumps({"sub": sub, "email": "shop@example.com"}))
    r = finish(logged_in, back)
    assert r.status_code == 502
    assert "could not read which" in page_text(r)
    assert no_integrations()


def test_it_takes_a_numeric_account_id_and_ignores_a_name_of_the_wrong_type(sandbox, logged_in,
                                                                            owner):
    import json

    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("userinfo", "status", status=200,
                   body=json.dumps({"sub": 1234567, "email": {"value": "x"}, "name": "A" * 600}))
    assert finish(logged_in, back).status_code == 302
    integration = Integration.objects.get()
    assert integration.external_id == "1234567"
    assert integration.display_name.startswith("A" * 200) and len(integration.display_name) <= 255
