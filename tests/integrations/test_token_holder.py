"""TokenHolder (with_token for many calls) against the sandbox over real HTTP."""

from datetime import timedelta
from types import SimpleNamespace

import requests
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import tokens
from integrations.models import OAuthCredential


def stored_token(integration):
    return OAuthCredential.objects.get(integration=integration).access_token


def test_it_reads_the_credential_once_while_fresh(connected, sandbox):
    holder = tokens.TokenHolder(connected)
    with CaptureQueriesContext(connection) as first:
        token = holder.token()
    with CaptureQueriesContext(connection) as second:
        again = holder.token()
    assert len(first) >= 1
    assert len(second) == 0
    assert again == token == stored_token(connected)
    assert sandbox.token_requests("refresh_token") == 0


def test_it_reads_it_again_after_recheck_seconds(connected, sandbox, monkeypatch):
    holder = tokens.TokenHolder(connected)
    held = holder.token()
    replaced = tokens.ensure_fresh(connected, force=True).access_token  # another caller
    assert replaced != held
    assert holder.token() == held  # within RECHECK_SECONDS: not read again

    monkeypatch.setattr(tokens.TokenHolder, "RECHECK_SECONDS", 0)
    with CaptureQueriesContext(connection) as queries:
        assert holder.token() == replaced
    assert len(queries) >= 1
    assert sandbox.token_requests("refresh_token") == 1  # only the other caller's


def test_it_reads_it_again_when_the_token_comes_within_the_buffer(connected, sandbox):
    holder = tokens.TokenHolder(connected)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        OAuthCredential.objects.filter(integration=connected).update(
            expires_at=timezone.now() + holder.buffer + timedelta(minutes=1))
        held = holder.token()
        assert sandbox.token_requests("refresh_token") == 0
        traveller.shift(timedelta(minutes=2))  # the wall clock only: RECHECK_SECONDS not yet
        fresh = holder.token()
    assert fresh != held
    assert fresh == stored_token(connected)
    assert sandbox.token_requests("refresh_token") == 1


def test_it_refreshes_once_on_a_401_and_calls_once_more(connected, sandbox):
    holder = tokens.TokenHolder(connected)
    refused = holder.token()
    seen = []

    def call(token):
        seen.append(token)
        return SimpleNamespace(status_code=401)  # refused every time

    result = holder.call(call)
    assert result.status_code == 401  # the second answer, returned: no third call
    assert len(seen) == 2 and seen[0] == refused
    assert seen[1] != refused and seen[1] == stored_token(connected)
    assert sandbox.token_requests("refresh_token") == 1
    with CaptureQueriesContext(connection) as queries:
        assert holder.token() == seen[1]  # the refreshed token is kept
    assert len(queries) == 0


def test_it_retries_with_a_token_another_caller_stored_without_refreshing(connected, sandbox):
    holder = tokens.TokenHolder(connected)
    refused = holder.token()
    replaced = tokens.ensure_fresh(connected, force=True).access_token  # another caller
    assert sandbox.token_requests("refresh_token") == 1
    url = sandbox.url("gbp/v1/accounts")
    seen = []

    def call(token):
        seen.append(token)
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    response = holder.call(call)
    assert response.status_code == 200
    assert seen == [refused, replaced]
    assert sandbox.token_requests("refresh_token") == 1  # no refresh of its own
