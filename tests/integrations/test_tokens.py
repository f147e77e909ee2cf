"""ensure_fresh and friends against the sandbox over real HTTP."""

from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from integrations import clock, signals, tokens
from integrations.models import IntegrationEvent, OAuthCredential
from tests.helpers import configure_provider


def creds(integration):
    return OAuthCredential.objects.get(integration=integration)


def test_it_returns_a_fresh_token_with_one_query(db, owner, make_integration,
                                                 django_assert_num_queries):
    integration = make_integration(owner, expires_in=3600)
    clock.skew()  # the clock is compared with the database's once a minute per process
    with django_assert_num_queries(1):
        cred = tokens.ensure_fresh(integration)
    assert cred.access_token == integration.credential.access_token


@pytest.mark.parametrize("left,refreshes", [(timedelta(minutes=4, seconds=59), True),
                                            (timedelta(minutes=5, seconds=1), False)])
def test_it_refreshes_inside_the_five_minute_buffer_only(connected, sandbox, left, refreshes):
    with time_machine.travel(timezone.now(), tick=False):  # the clock stands still
        OAuthCredential.objects.filter(integration=connected).update(
            expires_at=timezone.now() + left)
        tokens.ensure_fresh(connected)
    assert sandbox.token_requests("refresh_token") == (1 if refreshes else 0)


def test_it_stores_a_rotated_refresh_token(connected, sandbox):
    before = creds(connected)
    cred = tokens.ensure_fresh(connected, force=True)
    assert cred.refresh_token != before.refresh_token
    assert cred.access_token != before.access_token
    stored = creds(connected)
    assert (stored.access_token, stored.refresh_token) == (cred.access_token, cred.refresh_token)
    assert stored.expires_at > timezone.now() + timedelta(minutes=50)
    event = connected.events.filter(kind="refresh").get()
    assert (event.outcome, event.rotated, event.attempts) == ("ok", True, 1)
    # The stored refresh token is the live one: it refreshes again.
    assert tokens.ensure_fresh(connected, force=True).refresh_token != cred.refresh_token


def test_it_keeps_the_refresh_token_when_the_answer_has_none(connected, sandbox):
    old = creds(connected).refresh_token
    sandbox.inject("token", "status", status=200,
                   body='{"access_token": "new-access-1", "token_type": "Bearer"}')
    with time_machine.travel(timezone.now(), tick=False):
        cred = tokens.ensure_fresh(connected, force=True)
        assert cred.expires_at == timezone.now() + timedelta(seconds=3600)  # conservative default
    stored = creds(connected)
    assert stored.refresh_token == old and stored.access_token == "new-access-1"


def test_it_retries_a_401_once_with_a_forced_refresh(connected, sandbox, owner):
    sandbox.expire_tokens(owner)
    url = sandbox.url("gbp/v1/accounts")
    seen = []

    def call(token):
        seen.append(token)
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    response = tokens.with_token(connected, call)
    assert response.status_code == 200
    assert len(seen) == 2 and seen[0] != seen[1]
    assert sandbox.token_requests("refresh_token") == 1


def test_it_builds_an_xoauth2_string(db, owner, make_integration, settings):
    configure_provider(settings, "google", client_id="id")
    gmail = make_integration(owner, "gmail", display_name="me@gmail.com", access_token="tok-123")
    assert tokens.xoauth2_string(gmail) == "user=me@gmail.com\x01auth=Bearer tok-123\x01\x01"


def test_it_refuses_xoauth2_for_a_provider_without_mail(db, owner, make_integration):
    with pytest.raises(ValueError):
        tokens.xoauth2_string(make_integration(owner, "google_business_profile"))


def test_it_sends_token_refreshed(connected, sandbox):
    received = []
    handler = lambda **kw: received.append(kw)  # noqa: E731
    signals.token_refreshed.connect(handler)
    try:
        tokens.ensure_fresh(connected, force=True)
    finally:
        signals.token_refreshed.disconnect(handler)
    assert received[0]["integration"].pk == connected.pk and received[0]["rotated"] is True


def test_it_reads_client_credentials_at_refresh_time(connected, sandbox, settings):
    providers = dict(settings.INTEGRATIONS_PROVIDERS)
    providers["sandbox"] = {**providers["sandbox"], "client_secret": "rotated-but-wrong"}
    settings.INTEGRATIONS_PROVIDERS = providers
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.code == "invalid_client"


def test_it_flags_an_undecryptable_credential(db, owner, make_integration, settings):
    integration = make_integration(owner, expires_in=0)
    settings.INTEGRATIONS_FERNET_KEYS = ["another-key-entirely-0123456789abcdef0123456789"]
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(integration)
    assert failed.value.code == "undecryptable"
    integration.refresh_from_db()
    assert integration.status == "reauth_required"


def test_it_refuses_a_credential_that_needs_reauth_without_calling(connected, sandbox):
    tokens.mark_reauth_required(connected, "invalid_grant", "revoked")
    with pytest.raises(tokens.ReauthRequired):
        tokens.ensure_fresh(connected, force=True)
    assert sandbox.token_requests("refresh_token") == 0


def test_it_treats_a_missing_refresh_token_as_reauth(db, owner, make_integration):
    integration = make_integration(owner, "sandbox", refresh_token=None, expires_in=0)
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(integration)
    assert failed.value.code == "no_refresh_token"


def test_it_records_every_attempt_in_history(connected, sandbox):
    sandbox.inject("token", "503", times=1)
    tokens.ensure_fresh(connected, force=True)
    event = IntegrationEvent.objects.get(integration=connected, kind="refresh")
    assert event.attempts == 2 and event.outcome == "ok" and event.duration_ms is not None
