from django.core.management import call_command
from django.test import Client

from integrations import tokens
from integrations.models import IntegrationEvent


def test_it_refuses_anonymous_and_ordinary_users(db, client, owner):
    assert client.get("/integrations/health/").status_code == 403
    client.force_login(owner)
    assert client.get("/integrations/health/").status_code == 403


def test_it_accepts_the_bearer_token_from_settings(db, settings):
    settings.INTEGRATIONS_HEALTH_TOKEN = "monitor-token-123"
    client = Client()
    assert client.get("/integrations/health/", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    r = client.get("/integrations/health/", HTTP_AUTHORIZATION="Bearer monitor-token-123")
    assert r.status_code == 200


def test_it_needs_a_configured_token_for_bearer_access(db, settings):
    settings.INTEGRATIONS_HEALTH_TOKEN = ""
    r = Client().get("/integrations/health/", HTTP_AUTHORIZATION="Bearer ")
    assert r.status_code == 403


def test_it_counts_without_personal_data(db, client, staff, owner, make_integration):
    a = make_integration(owner, "sandbox", expires_in=1800, display_name="private@example.com")
    make_integration(owner, "sandbox", expires_in=7200)
    b = make_integration(owner, "sandbox", expires_in=3 * 86400)
    tokens.mark_reauth_required(b, "invalid_grant", "revoked")
    IntegrationEvent.objects.record(a.pk, "refresh", "transient", error_code="http_503")
    call_command("refresh_tokens", "--dry-run")
    client.force_login(staff)
    r = client.get("/integrations/health/")
    data = r.json()
    assert data["integrations"] == {"active": 2, "reauth_required": 1, "disconnected": 0}
    assert data["expiring_within_1h"] == 1 and data["expiring_within_24h"] == 2
    assert data["refresh_failures_24h"] == 1
    assert data["needs_attention"] == 1
    assert data["notices"] == {"pending": 1, "failed": 0}  # not delivered: no on_commit here
    assert data["last_proactive_run"] is None  # a dry run records no run
    text = r.content.decode()
    assert "private@example.com" not in text and "alice" not in text
    assert a.credential.access_token not in text


def test_it_shows_the_last_proactive_run(db, client, staff):
    call_command("refresh_tokens")
    client.force_login(staff)
    last = client.get("/integrations/health/").json()["last_proactive_run"]
    assert last["outcome"] == "ok" and last["refreshed"] == 0
