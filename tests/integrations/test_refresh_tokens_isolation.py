"""One provider's bad answer, or one unforeseen bug, stops one integration, never the run."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import http, oauth_client
from integrations.models import IntegrationEvent, OAuthCredential
from integrations.oauth_client import MAX_EXPIRES_IN, parse_expires_in
from tests.helpers import run_command


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(http, "wait", lambda seconds: None)


@pytest.mark.parametrize("given,stored", [
    (3599, 3599), ("3600", 3600), (1e12, MAX_EXPIRES_IN), ("1e12", MAX_EXPIRES_IN), (-5, 0),
    (float("inf"), None), ("NaN", None), ("soon", None), (True, None), (None, None),
])
def test_it_clamps_expires_in_to_a_sane_range(given, stored):
    assert parse_expires_in(given) == stored


def test_it_stores_a_year_at_most_when_a_provider_says_1e12(connect_many, sandbox):
    one, = connect_many(1)
    body = {"access_token": "ya29.new-access-SECRET", "expires_in": 1e12, "token_type": "Bearer"}
    sandbox.inject("token", "status", status=200, body=json.dumps(body))
    code, out = run_command("refresh_tokens")
    assert code == 0 and "refreshed 1" in out
    expires_at = OAuthCredential.objects.get(integration=one).expires_at
    assert expires_at <= timezone.now() + timedelta(seconds=MAX_EXPIRES_IN)
    assert expires_at > timezone.now() + timedelta(days=364)


def test_it_records_an_unexpected_error_against_one_integration_and_goes_on(
        connect_many, sandbox, monkeypatch, caplog):
    broken, *fine = connect_many(3)
    secret = OAuthCredential.objects.get(integration=broken).refresh_token
    real_refresh = oauth_client.refresh

    def refresh(provider, refresh_token):
        if refresh_token == secret:
            raise ZeroDivisionError(f"a bug that quotes {refresh_token}")
        return real_refresh(provider, refresh_token)

    monkeypatch.setattr(oauth_client, "refresh", refresh)
    with caplog.at_level(logging.ERROR, logger="integrations"):
        code, out = run_command("refresh_tokens")
    assert code == 1
    assert "refreshed 2, failed 1 (reauth 0, operator 0, transient 1)" in out
    assert f"integration {broken.pk}" in out and "(unexpected)" in out
    cred = OAuthCredential.objects.get(integration=broken)
    assert cred.last_error_kind == "transient" and cred.last_error_code == "unexpected"
    assert cred.retry_after > timezone.now() and cred.refresh_token == secret  # kept
    assert IntegrationEvent.objects.filter(integration=broken, error_code="unexpected").exists()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ZeroDivisionError" in logged and "Traceback" not in logged  # frames, no message
    assert "refresh.py" in logged and secret not in logged
