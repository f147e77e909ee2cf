"""Tokens a provider issued are not dropped when the database fails at that moment (a restart, a
full disk): the write is tried again on a fresh connection; a grant is given up only after
INTEGRATIONS_PERSIST_RETRY_SECONDS, loudly. The fault suite (tests/faults/) restarts a real
PostgreSQL; here the write's failure is the error the driver raises."""

import logging

import pytest
from django.core import mail
from django.db import OperationalError

from integrations import oauth_client, tokens
from integrations.models import Integration, OAuthCredential
from integrations.providers import registry
from integrations.tokens import sql


def failing_writes(monkeypatch, times):
    real = sql.write_refresh
    calls = []

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(sql, "write_refresh", write)
    return calls


def test_it_stores_issued_tokens_once_the_database_takes_them(connected, sandbox, monkeypatch):
    calls = failing_writes(monkeypatch, 3)
    cred = tokens.ensure_fresh(connected, force=True)
    assert len(calls) == 4
    stored = OAuthCredential.objects.get(integration=connected)
    assert (stored.access_token, stored.refresh_token) == (cred.access_token, cred.refresh_token)
    assert stored.lease_owner == ""  # released with the write
    assert sandbox.token_requests("refresh_token") == 1
    assert tokens.ensure_fresh(connected, force=True).access_token  # the rotated one works


def test_it_gives_a_grant_up_only_after_the_retry_period_and_says_so(
        connected, sandbox, monkeypatch, settings, caplog):
    settings.INTEGRATIONS_PERSIST_RETRY_SECONDS = 0.3
    settings.INTEGRATIONS_REFRESH_LOCK_SECONDS = 0.5
    failing_writes(monkeypatch, 10**6)
    with caplog.at_level(logging.CRITICAL), pytest.raises(OperationalError):
        tokens.ensure_fresh(connected, force=True)
    assert "LOST GRANT" in caplog.text and f"integration {connected.pk}" in caplog.text


def test_it_tells_the_user_it_was_our_fault_when_our_interrupted_refresh_lost_the_grant(
        connected, sandbox):
    """A worker killed between the provider's answer and our write: the provider rotated the
    token, we kept the old one, and its lease lapsed with its owner still on it."""
    cred = OAuthCredential.objects.get(integration=connected)
    oauth_client.refresh(registry.get("sandbox"), cred.refresh_token)  # rotated, never stored
    OAuthCredential.objects.filter(pk=cred.pk).update(lease_owner="killed-worker")
    with pytest.raises(tokens.ReauthRequired) as lost:
        tokens.ensure_fresh(connected, force=True)
    assert lost.value.code == "interrupted_refresh"
    connected.refresh_from_db()
    assert connected.status == Integration.Status.REAUTH_REQUIRED
    body = mail.outbox[0].body
    assert "A problem on our side" in body and "not something you did" in body
    assert "revoked" not in body


def test_it_still_says_revoked_when_the_user_revoked(connected, sandbox, owner):
    sandbox.revoke_grant(owner)
    with pytest.raises(tokens.ReauthRequired) as revoked:
        tokens.ensure_fresh(connected, force=True)
    assert revoked.value.code == "invalid_grant"
    assert "says our access was revoked" in mail.outbox[0].body
