"""The fault matrix: every failure ends in the right class, with the right number of attempts,
and with the tokens that must be kept still stored. Over real HTTP, via the sandbox's fault
injection, with the real error bodies of Google, Microsoft and Amazon."""

import json
import socket

import pytest

from integrations import http, tokens
from integrations.models import IntegrationEvent, OAuthCredential

GOOGLE_INVALID_GRANT = {"error": "invalid_grant",
                        "error_description": "Token has been expired or revoked."}
AMAZON_INVALID_GRANT = {"error_description": "The request has an invalid grant parameter : "
                                             "refresh_token", "error": "invalid_grant"}


def microsoft(error, code, text):
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: 0f5c7d1e-aaaa-bbbb-cccc-"
                             "2f6a1b3c4d5e\r\nCorrelation ID: 9d8e7f6a-1111-2222-3333-"
                             "444455556666\r\nTimestamp: 2026-11-24 02:00:00Z",
        "error_codes": [code], "timestamp": "2026-11-24 02:00:00Z",
        "trace_id": "0f5c7d1e-aaaa-bbbb-cccc-2f6a1b3c4d5e",
        "correlation_id": "9d8e7f6a-1111-2222-3333-444455556666",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


REAUTH_BODIES = {
    "google": (400, GOOGLE_INVALID_GRANT),
    "amazon": (400, AMAZON_INVALID_GRANT),
    "ms-70008": (400, microsoft("invalid_grant", 70008, "The provided authorization code or "
                                "refresh token has expired due to inactivity.")),
    "ms-700082": (400, microsoft("invalid_grant", 700082, "The refresh token has expired due to "
                                 "inactivity.")),
    "ms-50173": (400, microsoft("invalid_grant", 50173, "The provided grant has expired due to it "
                                "being revoked, a fresh auth token is needed.")),
    "ms-70043": (400, microsoft("invalid_grant", 70043, "The refresh token has expired or is "
                                "invalid due to sign-in frequency checks by conditional access.")),
    "ms-65001": (400, microsoft("invalid_grant", 65001, "The user or administrator has not "
                                "consented to use the application.")),
    "ms-interaction": (400, microsoft("interaction_required", 50076, "Due to a configuration "
                                      "change made by your administrator, you must use MFA.")),
}
OPERATOR_BODIES = {
    "google": (401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}),
    "ms": (401, microsoft("invalid_client", 7000215, "Invalid client secret provided.")),
    "amazon": (401, {"error_description": "Client authentication failed", "error": "invalid_client"}),
    "unauthorized": (400, {"error": "unauthorized_client", "error_description": "Unauthorized"}),
}


@pytest.fixture
def waits(monkeypatch):
    recorded = []
    monkeypatch.setattr(http, "wait", recorded.append)
    return recorded


def stored(integration):
    return OAuthCredential.objects.select_related("integration").get(integration=integration)


def last_refresh(integration):
    return IntegrationEvent.objects.filter(integration=integration, kind="refresh").first()


def assert_kept(integration, before):
    after = stored(integration)
    assert after.refresh_token == before.refresh_token
    assert after.access_token == before.access_token
    assert after.integration.status == "active"


@pytest.mark.parametrize("kind", ["500", "502", "503", "html", "malformed_json", "empty_json"])
def test_it_retries_transient_failures_three_times_then_keeps_everything(
        connected, sandbox, waits, kind):
    before = stored(connected)
    sandbox.inject("token", kind, times=3)
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.kind == "transient"
    assert sandbox.token_requests("refresh_token") == 3
    assert last_refresh(connected).attempts == 3 and last_refresh(connected).outcome == "transient"
    assert len(waits) == 2 and waits[1] > 0
    assert_kept(connected, before)
    cred = stored(connected)
    assert cred.refresh_failures == 1 and cred.last_error_code and cred.in_cooldown()


@pytest.mark.parametrize("kind", ["500", "503", "html"])
def test_it_recovers_when_a_retry_succeeds(connected, sandbox, waits, kind):
    sandbox.inject("token", kind, times=2)
    cred = tokens.ensure_fresh(connected, force=True)
    assert sandbox.token_requests("refresh_token") == 3
    assert cred.refresh_failures == 0 and last_refresh(connected).attempts == 3


def test_it_honours_retry_after_within_one_call(connected, sandbox, waits, settings):
    settings.INTEGRATIONS_RETRY_AFTER_CAP_SECONDS = 2
    sandbox.inject("token", "429", times=1, retry_after=1)
    tokens.ensure_fresh(connected, force=True)
    assert waits == [1.0] and sandbox.token_requests("refresh_token") == 2


def test_it_cools_down_as_long_as_retry_after_says(connected, sandbox, waits):
    sandbox.inject("token", "429", times=3, retry_after=600)
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "rate_limited" and failed.value.retry_after >= 600
    assert sandbox.token_requests("refresh_token") == 1 and waits == []


def test_it_times_out_and_keeps_tokens(connected, sandbox, waits, settings):
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.3
    before = stored(connected)
    sandbox.inject("token", "hang", times=3, latency_ms=1000)
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "timeout"
    assert last_refresh(connected).attempts == 3
    assert_kept(connected, before)


def test_it_survives_a_refused_connection(connected, settings, waits):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    providers = dict(settings.INTEGRATIONS_PROVIDERS)
    providers["sandbox"] = {**providers["sandbox"],
                            "token_url": f"http://127.0.0.1:{closed_port}/token"}
    settings.INTEGRATIONS_PROVIDERS = providers
    before = stored(connected)
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "connection_error" and last_refresh(connected).attempts == 3
    assert_kept(connected, before)


@pytest.mark.parametrize("name", sorted(REAUTH_BODIES))
def test_it_asks_for_reauth_on_real_invalid_grant_bodies(connected, sandbox, waits, name):
    status, body = REAUTH_BODIES[name]
    sandbox.inject("token", "status", status=status, body=json.dumps(body))
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == body["error"]
    assert sandbox.token_requests("refresh_token") == 1  # never retried
    cred = stored(connected)
    assert cred.integration.status == "reauth_required"
    assert cred.refresh_token is None  # cleared: it is dead at the provider
    assert cred.last_error_code == body["error"] and cred.last_error_message
    assert "Trace ID" not in cred.last_error_message


@pytest.mark.parametrize("name", sorted(OPERATOR_BODIES))
def test_it_flags_operator_problems_and_keeps_tokens(connected, sandbox, waits, name, caplog):
    status, body = OPERATOR_BODIES[name]
    before = stored(connected)
    sandbox.inject("token", "status", status=status, body=json.dumps(body))
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.kind == "operator" and failed.value.code == body["error"]
    assert sandbox.token_requests("refresh_token") == 1
    assert_kept(connected, before)
    assert stored(connected).last_error_code == body["error"]
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "integration" in r.getMessage()]
    assert errors and str(connected.pk) in errors[0].getMessage()
    assert "sandbox" in errors[0].getMessage()


def test_it_real_invalid_grant_from_the_sandbox_after_a_revoke(connected, sandbox, owner, waits):
    sandbox.revoke_grant(owner)
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "invalid_grant"


def test_it_does_not_hammer_during_the_cooldown(connected, sandbox, waits):
    sandbox.inject("token", "503", times=None)
    for _ in range(2):
        with pytest.raises(tokens.RefreshFailed):
            tokens.ensure_fresh(connected, force=True)
    assert sandbox.token_requests("refresh_token") == 3  # one call's attempts, then nothing


def test_it_tries_again_after_the_cooldown(connected, sandbox, waits):
    sandbox.inject("token", "503", times=3)
    with pytest.raises(tokens.RefreshFailed):
        tokens.ensure_fresh(connected, force=True)
    OAuthCredential.objects.filter(integration=connected).update(retry_after=None)
    assert tokens.ensure_fresh(connected, force=True).refresh_failures == 0


def test_it_escalates_a_long_run_of_transient_failures(connected, sandbox, waits):
    from datetime import timedelta

    from django.utils import timezone

    OAuthCredential.objects.filter(integration=connected).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1), refresh_failures=40)
    sandbox.inject("token", "503", times=3)
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "refresh_failing"
    cred = stored(connected)
    assert cred.integration.status == "reauth_required"
    assert cred.refresh_token  # kept: it may still be valid once the provider is back


def echoed_secrets(settings, refresh_token):
    """What a provider could echo back: every secret we sent, in the forms we sent it."""
    import base64
    from urllib.parse import quote_plus

    client_id, secret = settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET
    return {
        "client secret": secret,
        "url-encoded secret": quote_plus(secret + "/+="),
        "basic": base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
        "basic, form-encoded": base64.b64encode(
            f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode(),
        "refresh token": refresh_token,
    }


@pytest.mark.parametrize("form", ["client secret", "basic", "basic, form-encoded",
                                  "refresh token"])
@pytest.mark.parametrize("field", ["error", "error_description"])
def test_it_scrubs_secrets_a_provider_echoes_in_any_error_field(connected, sandbox, waits,
                                                                settings, caplog, form, field):
    secret = echoed_secrets(settings, connected.credential.refresh_token)[form]
    body = {"error": "invalid_request", "error_description": "bad request"}
    body[field] = f"{secret}"
    sandbox.inject("token", "status", times=None, status=400, body=json.dumps(body))
    with pytest.raises(tokens.TokenError) as failed:
        tokens.ensure_fresh(connected, force=True)
    cred = stored(connected)
    events = IntegrationEvent.objects.filter(integration=connected)
    seen = [str(failed.value), failed.value.code, failed.value.message, cred.last_error_code,
            cred.last_error_message, caplog.text,
            *events.values_list("error_code", flat=True), *events.values_list("message", flat=True)]
    assert not [text for text in seen if secret in text]
    assert "[redacted]" in cred.last_error_code + cred.last_error_message


def test_it_keeps_an_error_code_short_and_on_one_line(connected, sandbox, waits):
    body = {"error": "weird\r\ncode " + "x" * 300, "error_description": "no"}
    sandbox.inject("token", "status", times=None, status=400, body=json.dumps(body))
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert "\n" not in failed.value.code and len(failed.value.code) <= 64
    assert stored(connected).last_error_code == failed.value.code
