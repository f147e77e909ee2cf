"""Fuzzed input: arbitrary methods, paths, ids, provider names, states, codes and query strings,
as anonymous, another user and the owner; then arbitrary token endpoint and userinfo answers.

Never a 500, never an integration created or changed that should not be, always a clear status.
The number of examples is set by FUZZ_EXAMPLES (default 300 per test; the README's figures
come from FUZZ_EXAMPLES=2000).
"""

import json
import os
from urllib.parse import quote, urlencode

import pytest
import responses
from django.test import Client
from hypothesis import HealthCheck, event, given, settings, strategies as st

from integrations import http, tokens
from integrations.models import Integration, OAuthCredential
from tests.helpers import configure_provider

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
CLEAR = {200, 301, 302, 400, 403, 404, 405}

text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
provider = st.one_of(st.sampled_from(["sandbox", "gmail", "google_business_profile", "microsoft",
                                      "amazon", "SANDBOX", "..", "%00"]), text)
ident = st.one_of(st.just("{own}"), st.just("{theirs}"), st.integers(-5, 10**15).map(str), text)
path = st.one_of(
    provider.map(lambda p: f"/integrations/connect/{quote(p, safe='')}/"),
    provider.map(lambda p: f"/integrations/callback/{quote(p, safe='')}/"),
    ident.map(lambda i: f"/integrations/{quote(i, safe='{}')}/"),
    ident.map(lambda i: f"/integrations/{quote(i, safe='{}')}/disconnect/"),
    ident.map(lambda i: f"/integrations/gbp/{quote(i, safe='{}')}/sync/"),
    st.just("/integrations/health/"),
    st.just("/integrations/"),
)
query = st.dictionaries(
    st.one_of(st.sampled_from(["state", "code", "error", "next", "integration", "scope",
                               "error_description", "session_state"]), text),
    st.one_of(text, st.sampled_from(["access_denied", "https://evil.example/", "//evil.example",
                                     "{own}", "{theirs}", "invalid_grant"])),
    max_size=5)
method = st.sampled_from(["get", "post", "put", "patch", "delete", "head", "options"])
role = st.sampled_from(["anon", "other", "owner"])


def snapshot():
    return sorted(
        (i.pk, i.owner_id, i.status, i.last_sync_status, c.access_token, c.refresh_token)
        for i in Integration.objects.all() for c in [OAuthCredential.objects.get(integration=i)]
    )


@pytest.fixture
def world(db, owner, other, make_integration, monkeypatch, settings):
    monkeypatch.setattr(http, "wait", lambda s: None)
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.5
    own = make_integration(owner, "sandbox")
    theirs = make_integration(other, "sandbox")
    clients = {"anon": Client()}
    for name, user in (("other", other), ("owner", owner)):
        clients[name] = Client()
        clients[name].force_login(user)
    return own, theirs, clients


@FUZZ
@given(method=method, path=path, query=query, who=role)
def test_it_never_breaks_on_arbitrary_requests(world, method, path, query, who):
    own, theirs, clients = world
    fill = {"{own}": str(own.pk), "{theirs}": str(theirs.pk)}
    for placeholder, value in fill.items():
        path = path.replace(quote(placeholder, safe="{}"), value).replace(placeholder, value)
    query = {k: fill.get(v, v) for k, v in query.items()}
    before = snapshot()
    url = path + ("?" + urlencode(query) if query else "")
    response = getattr(clients[who], method)(url)
    assert response.status_code in CLEAR, (method, url, who, response.status_code)
    event(f"status {response.status_code}")

    mine = {"owner": own, "other": theirs}.get(who)
    allowed_change = mine is not None and method == "post" and response.status_code == 302 and (
        path in (f"/integrations/{mine.pk}/disconnect/", f"/integrations/gbp/{mine.pk}/sync/"))
    if allowed_change:  # a user acted on their own integration: put it back for the next example
        event("changed own integration")
        _, _, _, _, access, refresh = next(r for r in before if r[0] == mine.pk)
        Integration.objects.filter(pk=mine.pk).update(status="active", last_sync_status="never")
        OAuthCredential.objects.filter(integration=mine).update(
            access_token=access, refresh_token=refresh)
    assert snapshot() == before, (method, url, who)


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=6)
token_body = st.one_of(
    st.fixed_dictionaries({}, optional={
        "access_token": st.one_of(text, json_value), "refresh_token": st.one_of(text, json_value),
        "expires_in": st.one_of(st.integers(-10, 10**9), text, json_value),
        "scope": st.one_of(st.just("https://www.googleapis.com/auth/business.manage openid email"),
                           text, json_value),
        "token_type": json_value, "error": st.one_of(st.sampled_from(
            ["invalid_grant", "invalid_client", "server_error"]), json_value),
    }).map(json.dumps),
    text, st.just("<html><body>Sign in</body></html>"), st.binary(max_size=40).map(
        lambda b: b.decode("latin-1")))
userinfo_body = st.one_of(
    st.fixed_dictionaries({}, optional={"sub": json_value, "email": json_value}).map(json.dumps),
    text)
status = st.sampled_from([200, 200, 200, 201, 400, 401, 403, 429, 500, 502, 503])


@pytest.fixture
def google(settings, monkeypatch):
    # Set once, outside the examples: each settings assignment stacks an override.
    monkeypatch.setattr(http, "wait", lambda s: None)
    configure_provider(settings, "google", client_id="fuzz-client",
                       client_secret="fuzz-secret-value")


@FUZZ
@given(token_status=status, token=token_body, info_status=status, info=userinfo_body)
def test_it_stores_nothing_from_a_garbled_provider(db, owner, google, token_status, token,
                                                  info_status, info):
    client = Client()
    client.force_login(owner)
    start = client.get("/integrations/connect/google_business_profile/")
    state = start["Location"].split("state=")[1].split("&")[0]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as provider:
        provider.post("https://oauth2.googleapis.com/token", body=token, status=token_status)
        provider.get("https://openidconnect.googleapis.com/v1/userinfo", body=info,
                     status=info_status)
        r = client.get("/integrations/callback/google_business_profile/",
                       {"state": state, "code": "fuzz-code-0123456789"})
    assert r.status_code in {302, 400, 502}
    created = Integration.objects.filter(connected_by=owner).first()
    if created is None:
        assert r.status_code in {400, 502} and not OAuthCredential.objects.exists()
        event(f"refused with {r.status_code}")
        return
    event("stored a complete grant")
    # Stored only a complete grant: access and refresh tokens, the scope, the account id.
    body = json.loads(token)
    assert token_status == 200 and info_status == 200 and r.status_code == 302
    assert created.credential.access_token == body["access_token"]
    assert created.credential.refresh_token == body["refresh_token"]
    Integration.objects.all().delete()
