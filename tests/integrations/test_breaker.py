"""A provider's circuit breaker: an outage is the provider's, not its users'. Over real HTTP to
the sandbox, whose token endpoint answers 503 to everything while a fault is injected."""

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations import breaker, http, tokens
from integrations.models import Integration, OAuthCredential, ProviderBreaker


@pytest.fixture(autouse=True)
def quick(monkeypatch, settings):
    monkeypatch.setattr(http, "wait", lambda seconds: None)
    settings.INTEGRATIONS_REFRESH_ATTEMPTS = 1  # one request per refresh: easy to count
    settings.INTEGRATIONS_BREAKER_FAILURES = 5
    settings.INTEGRATIONS_BREAKER_CREDENTIALS = 3


def refresh_all(integrations):
    outcomes = []
    for integration in integrations:
        try:
            tokens.ensure_fresh(integration, force=True)
            outcomes.append("ok")
        except tokens.TokenError as exc:
            outcomes.append(exc.code)
    return outcomes


def probe_due():
    """The breaker's open period is over (as if its time had passed)."""
    ProviderBreaker.objects.update(retry_at=timezone.now() - timedelta(seconds=1))
    breaker.forget()
    OAuthCredential.objects.update(retry_after=None)


def test_it_stops_asking_a_provider_that_fails_for_everyone(connect_many, sandbox, caplog):
    integrations = connect_many(12)
    sandbox.inject("token", "503", None)
    with caplog.at_level(logging.ERROR, logger="integrations.breaker"):
        outcomes = refresh_all(integrations)
    assert outcomes == ["temporarily_unavailable"] * 5 + ["provider_unavailable"] * 7
    assert sandbox.token_requests("refresh_token") == 5  # then not asked at all
    assert caplog.text.count("is failing for many accounts") == 1  # operators told once
    # Nothing is held against the credentials the outage hit after it was seen.
    failing = OAuthCredential.objects.filter(refresh_failures__gt=0).count()
    assert failing == 4  # the ones before the breaker opened
    assert not Integration.objects.exclude(status=Integration.Status.ACTIVE).exists()
    assert mail.outbox == []


def test_it_probes_once_then_waits_longer_while_the_provider_stays_down(connect_many, sandbox,
                                                                        settings):
    settings.INTEGRATIONS_BREAKER_OPEN_SECONDS = 60
    integrations = connect_many(6)
    sandbox.inject("token", "503", None)
    refresh_all(integrations)
    before = sandbox.token_requests("refresh_token")
    probe_due()
    assert refresh_all(integrations) == ["temporarily_unavailable"] + ["provider_unavailable"] * 5
    assert sandbox.token_requests("refresh_token") == before + 1  # one probe
    row = ProviderBreaker.objects.get()
    assert row.state == "open" and row.open_seconds == 120  # twice as long


def test_it_resumes_when_the_provider_answers_and_recovers_what_the_outage_flagged(
        connect_many, sandbox):
    integrations = connect_many(6)
    flagged = integrations[0]
    tokens.mark_reauth_required(flagged, "refresh_failing", "days of 503s",
                                clear_refresh_token=False)
    sandbox.inject("token", "503", None)
    refresh_all(integrations[1:])
    sandbox.clear()
    probe_due()
    assert refresh_all(integrations[1:]) == ["ok"] * 5
    row = ProviderBreaker.objects.get()
    assert (row.state, row.failures) == ("closed", 0) and row.recovered_at is not None
    flagged.refresh_from_db()
    assert flagged.status == Integration.Status.ACTIVE  # its refresh token was kept
    assert tokens.ensure_fresh(flagged, force=True).access_token


def test_it_does_not_escalate_an_outage_to_a_reconnect(connect_many, sandbox, settings):
    """Days of failures that straddle an outage: the escalation counts from the recovery."""
    integration, *others = connect_many(4)
    sandbox.inject("token", "503", None)
    refresh_all(others)  # not enough to open it: 3 failures
    ProviderBreaker.objects.update(recovered_at=timezone.now() - timedelta(hours=1))
    breaker.forget()
    OAuthCredential.objects.filter(integration=integration).update(
        failing_since=timezone.now() - timedelta(days=4), refresh_failures=90)
    with pytest.raises(tokens.RefreshFailed):
        tokens.ensure_fresh(integration, force=True)
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE


def test_it_escalates_as_before_when_the_provider_was_fine(connect_many, sandbox):
    integration, = connect_many(1)
    sandbox.inject("token", "503", None)
    OAuthCredential.objects.filter(integration=integration).update(
        failing_since=timezone.now() - timedelta(days=4), refresh_failures=90)
    with pytest.raises(tokens.ReauthRequired):
        tokens.ensure_fresh(integration, force=True)


def test_it_is_not_opened_by_one_broken_credential(connect_many, sandbox):
    integrations = connect_many(3)
    sandbox.inject("token", "503", 10)
    for _ in range(8):  # one credential failing again and again
        OAuthCredential.objects.update(retry_after=None)
        with pytest.raises(tokens.RefreshFailed):
            tokens.ensure_fresh(integrations[0], force=True)
    assert not breaker.is_open("sandbox")


def test_it_counts_a_stored_refresh_as_done_when_the_breaker_cannot_be_read(
        connect_many, sandbox, monkeypatch):
    # The database restarting right after the new tokens were stored: the breaker's bookkeeping
    # fails, the refresh does not (a run used to count it failed, and stop on it).
    from django.db import OperationalError

    (integration,) = connect_many(1)
    before = OAuthCredential.objects.get(integration=integration).access_token

    def gone(provider_id):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(breaker, "success", gone)
    cred = tokens.ensure_fresh(integration, force=True)
    assert cred.access_token != before
    assert OAuthCredential.objects.get(integration=integration).access_token == cred.access_token
