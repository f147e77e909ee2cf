"""Each fault kind, injected and observed by a client over real HTTP."""

import time

import pytest
import requests
from django.core.management import call_command

from sandbox.models import Fault


def token_call(sandbox, timeout=10):
    return requests.post(sandbox.token_url, timeout=timeout,
                         data={"grant_type": "refresh_token", "refresh_token": "x"})


def api_call(sandbox):
    return requests.get(sandbox.url("gbp/v1/accounts"), timeout=10)


@pytest.mark.parametrize("kind,status,check", [
    ("500", 500, lambda r: r.json()["error"] == "server_error"),
    ("502", 502, lambda r: r.headers["Content-Type"].startswith("text/html")),
    ("503", 503, lambda r: r.json()["error"] == "temporarily_unavailable"),
    ("429", 429, lambda r: r.headers["Retry-After"] == "1"),
    ("invalid_grant", 400, lambda r: r.json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
    ("invalid_client", 401, lambda r: r.json()["error"] == "invalid_client"),
    ("unauthorized_client", 401, lambda r: r.json()["error"] == "unauthorized_client"),
    ("html", 200, lambda r: r.text.startswith("<!DOCTYPE html>")),
    ("malformed_json", 200, lambda r: pytest.raises(ValueError, r.json)),
    ("empty_json", 200, lambda r: r.json() == {}),
])
def test_it_injects_each_token_endpoint_fault(sandbox, kind, status, check):
    sandbox.inject("token", kind)
    r = token_call(sandbox)
    assert r.status_code == status
    check(r)
    # Once only: the next call reaches the real endpoint (a bad grant here).
    assert token_call(sandbox).status_code in (400, 401)


@pytest.mark.parametrize("kind,status,google_status", [
    ("403", 403, "PERMISSION_DENIED"),
    ("429", 429, "RESOURCE_EXHAUSTED"),
    ("500", 500, "INTERNAL"),
    ("503", 503, "UNAVAILABLE"),
    ("401", 401, "UNAUTHENTICATED"),
])
def test_it_injects_google_api_errors(sandbox, kind, status, google_status):
    sandbox.inject("accounts", kind)
    r = api_call(sandbox)
    assert r.status_code == status
    assert r.json()["error"]["status"] == google_status


def test_it_injects_a_custom_status_and_body(sandbox):
    sandbox.inject("reviews", "status", status=418, body="teapot", content_type="text/plain")
    r = requests.get(sandbox.url("gbp/v4/accounts/1/locations/2/reviews"), timeout=10)
    assert (r.status_code, r.text) == (418, "teapot")


def test_it_adds_latency(sandbox):
    sandbox.inject("accounts", "latency", latency_ms=300)
    started = time.monotonic()
    assert api_call(sandbox).status_code == 401  # the real answer, later
    assert time.monotonic() - started >= 0.3


def test_it_hangs_past_a_client_timeout(sandbox):
    sandbox.inject("token", "hang", latency_ms=2000)
    with pytest.raises(requests.Timeout):
        token_call(sandbox, timeout=0.5)


def test_it_strips_the_refresh_token_from_a_real_answer(sandbox, owner, settings):
    from requests_oauthlib import OAuth2Session

    oauth = OAuth2Session(settings.SANDBOX_CLIENT_ID, scope=["openid"], pkce="S256",
                          redirect_uri=f"{sandbox.base_url}/integrations/callback/sandbox/")
    url, _ = oauth.authorization_url(sandbox.url("o/authorize/"))
    callback = sandbox.consent(owner, url)
    sandbox.inject("token", "strip_refresh_token")
    token = oauth.fetch_token(sandbox.token_url, authorization_response=callback,
                              client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True)
    assert token["access_token"] and "refresh_token" not in token


def test_it_keeps_a_fault_until_cleared(sandbox):
    sandbox.inject("accounts", "503", times=None)
    assert [api_call(sandbox).status_code for _ in range(3)] == [503, 503, 503]
    sandbox.clear()
    assert api_call(sandbox).status_code == 401


def test_it_controls_faults_from_the_command(db, capsys):
    call_command("sandbox", "fault", "token", "429", "--times", "2", "--retry-after", "7")
    fault = Fault.objects.get()
    assert (fault.endpoint, fault.kind, fault.remaining, fault.retry_after) == ("token", "429", 2, 7)
    call_command("sandbox", "clear")
    assert not Fault.objects.exists()


def test_it_controls_faults_from_the_page(db, client, staff):
    client.force_login(staff)
    r = client.post("/sandbox/faults/inject/", {"endpoint": "metrics", "kind": "503", "times": "2"})
    assert r.status_code == 302
    assert Fault.objects.get().kind == "503"
    assert b"metrics: 503" in client.get("/sandbox/").content


def test_it_keeps_fault_controls_from_non_staff(db, client, owner):
    from sandbox import ops

    ops.inject("metrics", "503")
    client.force_login(owner)
    r = client.post("/sandbox/faults/inject/", {"endpoint": "token", "kind": "hang"})
    assert r.status_code == 403
    assert client.post("/sandbox/faults/clear/").status_code == 403
    assert list(Fault.objects.values_list("endpoint", flat=True)) == ["metrics"]
    html = client.get("/sandbox/").content.decode()
    assert "Inject a fault" not in html and "metrics: 503" not in html
    assert "Revoke my grant" in html  # their own grant stays theirs to break


def test_it_lets_any_user_expire_and_revoke_their_own_tokens(db, client, owner):
    client.force_login(owner)
    assert client.post("/sandbox/me/expire/").status_code == 302
    assert client.post("/sandbox/me/revoke/").status_code == 302


def test_it_caps_latency_everywhere(db, client, staff):
    from django.core.management.base import CommandError

    from sandbox import ops
    from sandbox.testing import Sandbox

    with pytest.raises(ValueError):
        Sandbox("http://testserver").inject("token", "latency", latency_ms=30_001)
    with pytest.raises(CommandError, match="30000"):
        call_command("sandbox", "fault", "token", "hang", "--latency-ms", "600000")
    client.force_login(staff)
    r = client.post("/sandbox/faults/inject/", {"endpoint": "token", "kind": "latency",
                                                "latency_ms": "3600000"}, follow=True)
    assert "between 0 and 30000 ms" in r.content.decode()
    assert not Fault.objects.exists()
    assert ops.inject("token", "hang").latency_ms == 30_000  # the default hang is the cap


def test_it_refuses_unknown_fault_kinds(db):
    from sandbox import ops

    with pytest.raises(ValueError):
        ops.inject("token", "explode")
