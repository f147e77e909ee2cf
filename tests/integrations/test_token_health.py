import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations import http
from integrations.models import IntegrationEvent, OAuthCredential
from tests.helpers import run_command


def run(*args):
    return run_command("token_health", *args)


def snapshot():
    return list(OAuthCredential.objects.order_by("pk").values_list(
        "pk", "access_token", "expires_at", "updated_at", "last_error_code"))


def test_it_reports_without_touching_anything(connect_many, sandbox):
    fine, due, broken = connect_many(3)
    OAuthCredential.objects.filter(integration=fine).update(
        expires_at=timezone.now() + timedelta(days=3))
    OAuthCredential.objects.filter(integration=due).update(expires_at=timezone.now())
    sandbox.revoke_grant(broken.connected_by)  # only a refresh would notice: a report must not
    before, events = snapshot(), IntegrationEvent.objects.count()
    code, out = run()
    assert code == 0
    assert "integrations: active 3, reauth_required 0, disconnected 0" in out
    assert "expired 1, within 1h 1, within 24h 0, within 7d 1, later 0" in out
    assert snapshot() == before and IntegrationEvent.objects.count() == events
    assert sandbox.token_requests("refresh_token") == 0 and not mail.outbox


def test_it_lists_who_must_reconnect_with_the_reason(db, owner, make_integration):
    from integrations import tokens

    for i in range(3):
        tokens.mark_reauth_required(make_integration(owner, "sandbox"), "invalid_grant", "gone")
    make_integration(owner, "sandbox", last_error_kind="operator", last_error_code="invalid_client")
    code, out = run("--limit", "2")
    assert code == 1
    assert "Needs re-authentication: 3 (only the owners can fix these): invalid_grant 3" in out
    # Grouped by owner (alice's team), each naming who connected it.
    assert "by owner: alice's team 3" in out
    assert out.count("(owner alice's team, connected by alice@example.com)") == 2
    assert "... and 1 more" in out
    assert "revoked or has expired" in out and "operator problems" in out


def test_it_probes_a_sample_for_real_when_asked(connect_many, sandbox, monkeypatch):
    monkeypatch.setattr(http, "wait", lambda s: None)
    connect_many(3)
    OAuthCredential.objects.update(expires_at=None)
    code, out = run("--probe", "2", "--json")
    data = json.loads(out)
    assert code == 0 and len(data["probe"]) == 2
    assert {p["state"] for p in data["probe"]} == {"refreshed"}
    assert sandbox.token_requests("refresh_token") == 2


@pytest.mark.django_db
def test_it_handles_no_integrations():
    code, out = run("--json")
    assert code == 0 and json.loads(out)["reauth_required"]["count"] == 0
