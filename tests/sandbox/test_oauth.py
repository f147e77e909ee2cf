"""The sandbox's authorization server over real HTTP, with requests-oauthlib as the client."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests_oauthlib import OAuth2Session

from sandbox.conf import GBP_SCOPE

SCOPES = ["openid", "email", GBP_SCOPE]


@pytest.fixture
def oauth(sandbox, settings):
    redirect_uri = f"{sandbox.base_url}/integrations/callback/sandbox/"
    return OAuth2Session(
        settings.SANDBOX_CLIENT_ID, scope=SCOPES, redirect_uri=redirect_uri, pkce="S256"
    )


def authorize(sandbox, oauth, user, **kwargs):
    url, state = oauth.authorization_url(sandbox.url("o/authorize/"), access_type="offline")
    return sandbox.consent(user, url, **kwargs), state


def fetch(sandbox, oauth, owner, settings):
    callback, _ = authorize(sandbox, oauth, owner)
    return oauth.fetch_token(
        sandbox.token_url, authorization_response=callback,
        client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True,
    )


def refresh(sandbox, settings, refresh_token):
    return requests.post(sandbox.token_url, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": settings.SANDBOX_CLIENT_ID, "client_secret": settings.SANDBOX_CLIENT_SECRET,
    }, timeout=10)


def userinfo(sandbox, access_token):
    return requests.get(sandbox.url("userinfo"), timeout=10,
                        headers={"Authorization": f"Bearer {access_token}"})


def test_it_exchanges_a_code_with_pkce(sandbox, oauth, owner, settings):
    token = fetch(sandbox, oauth, owner, settings)
    assert token["access_token"] and token["refresh_token"]
    assert token["expires_in"] > 0
    assert set(token["scope"]) == set(SCOPES)
    me = userinfo(sandbox, token["access_token"]).json()
    assert me["email"] == owner.email and me["sub"].isdigit()


def test_it_requires_pkce(sandbox, owner, settings):
    oauth = OAuth2Session(settings.SANDBOX_CLIENT_ID, scope=SCOPES,
                          redirect_uri=f"{sandbox.base_url}/integrations/callback/sandbox/")
    url, _ = oauth.authorization_url(sandbox.url("o/authorize/"))
    callback = sandbox.consent(owner, url)
    assert parse_qs(urlsplit(callback).query)["error"] == ["invalid_request"]


def test_it_returns_access_denied_on_deny(sandbox, oauth, owner):
    callback, state = authorize(sandbox, oauth, owner, allow=False)
    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]


def test_it_grants_only_the_scopes_left_ticked(sandbox, oauth, owner, settings):
    callback, _ = authorize(sandbox, oauth, owner, drop_scopes=[GBP_SCOPE])
    # oauthlib reports a narrowed grant as a Warning carrying the token.
    with pytest.raises(Warning) as narrowed:
        oauth.fetch_token(sandbox.token_url, authorization_response=callback,
                          client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True)
    assert sorted(narrowed.value.new_scope) == ["email", "openid"]


def test_it_rotates_refresh_tokens(sandbox, oauth, owner, settings):
    first = fetch(sandbox, oauth, owner, settings)
    r = refresh(sandbox, settings, first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert userinfo(sandbox, second["access_token"]).status_code == 200


def test_it_revokes_the_family_when_a_rotated_token_is_reused(sandbox, oauth, owner, settings):
    first = fetch(sandbox, oauth, owner, settings)
    second = refresh(sandbox, settings, first["refresh_token"]).json()

    reuse = refresh(sandbox, settings, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # The whole family is gone: the newest refresh token fails too.
    assert refresh(sandbox, settings, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_revokes_a_refresh_token_and_its_access_token(sandbox, oauth, owner, settings):
    token = fetch(sandbox, oauth, owner, settings)
    r = requests.post(sandbox.url("o/revoke_token/"), data={
        "token": token["refresh_token"], "token_type_hint": "refresh_token",
        "client_id": settings.SANDBOX_CLIENT_ID, "client_secret": settings.SANDBOX_CLIENT_SECRET,
    }, timeout=10)
    assert r.status_code == 200
    assert userinfo(sandbox, token["access_token"]).status_code == 401
    assert refresh(sandbox, settings, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_rejects_a_wrong_client_secret(sandbox, oauth, owner, settings):
    token = fetch(sandbox, oauth, owner, settings)
    r = requests.post(sandbox.token_url, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": settings.SANDBOX_CLIENT_ID, "client_secret": "wrong",
    }, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_it_expires_and_revokes_on_request(sandbox, oauth, owner, settings):
    token = fetch(sandbox, oauth, owner, settings)
    sandbox.expire_tokens(owner)
    assert userinfo(sandbox, token["access_token"]).status_code == 401
    fresh = refresh(sandbox, settings, token["refresh_token"]).json()
    assert userinfo(sandbox, fresh["access_token"]).status_code == 200

    sandbox.revoke_grant(owner)
    assert userinfo(sandbox, fresh["access_token"]).status_code == 401
    assert refresh(sandbox, settings, fresh["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_counts_token_requests(sandbox, oauth, owner, settings):
    token = fetch(sandbox, oauth, owner, settings)
    refresh(sandbox, settings, token["refresh_token"])
    assert sandbox.token_requests("authorization_code") == 1
    assert sandbox.token_requests("refresh_token") == 1


def test_it_does_not_fetch_token_errors_silently(sandbox, oauth, owner, settings):
    callback, _ = authorize(sandbox, oauth, owner)
    sandbox.inject("token", "invalid_grant")
    with pytest.raises(InvalidGrantError):
        oauth.fetch_token(sandbox.token_url, authorization_response=callback,
                          client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True)
