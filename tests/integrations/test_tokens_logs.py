"""A whole refresh cycle, success and every failure kind, leaves no secret in any log record or
exception message."""

import json
import logging

import pytest

from integrations import http, tokens
from integrations.models import OAuthCredential


@pytest.fixture
def everything(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def secrets_of(integration, settings):
    cred = OAuthCredential.objects.get(integration=integration)
    return {cred.access_token, cred.refresh_token, settings.SANDBOX_CLIENT_SECRET}


def test_it_logs_no_secret_over_a_whole_cycle(connected, sandbox, settings, everything,
                                             monkeypatch):
    monkeypatch.setattr(http, "wait", lambda s: None)
    seen = set(secrets_of(connected, settings))
    messages = []

    def attempt(**inject):
        if inject:
            sandbox.inject("token", **inject)
        try:
            tokens.ensure_fresh(connected, force=True)
        except tokens.TokenError as exc:
            messages.extend([str(exc), repr(exc), exc.message])
        OAuthCredential.objects.filter(integration=connected).update(retry_after=None)
        seen.update(secrets_of(connected, settings) - {None})

    attempt()                                       # success, rotation
    attempt(kind="503", times=3)                    # transient
    attempt(kind="html", times=3)                   # unreadable
    attempt(kind="429", times=3, retry_after=1)     # rate limited
    attempt(kind="status", status=400, body=json.dumps({
        "error": "invalid_request",
        "error_description": "echoing refresh_token=" + OAuthCredential.objects.get(
            integration=connected).refresh_token}))  # a server that echoes what we sent
    attempt(kind="invalid_client")                  # operator
    attempt()                                       # success again
    attempt(kind="invalid_grant")                   # re-auth
    text = "\n".join(r.getMessage() for r in everything.records) + "\n".join(messages)
    assert len(everything.records) > 10
    for secret in seen - {None}:
        assert secret not in text
