"""GET /integrations/metrics/: Prometheus text, behind the health endpoint's rules."""

import pytest
from django.core.cache import cache
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from integrations import http, metrics, tokens
from tests.helpers import run_command


@pytest.fixture(autouse=True)
def fresh_counters(monkeypatch):
    monkeypatch.setattr(http, "wait", lambda s: None)
    cache.clear()
    metrics.recorder.pending.clear()


def scrape(client, **headers):
    r = client.get("/integrations/metrics/", **headers)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, r.content.decode()


def test_it_refuses_anonymous_and_ordinary_users_and_a_wrong_token(db, client, owner, settings):
    settings.INTEGRATIONS_HEALTH_TOKEN = "scrape-token-456"
    assert client.get("/integrations/metrics/").status_code == 403
    assert client.get("/integrations/metrics/",
                      HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    client.force_login(owner)
    assert client.get("/integrations/metrics/").status_code == 403
    assert Client().get("/integrations/metrics/",
                        HTTP_AUTHORIZATION="Bearer scrape-token-456").status_code == 200


def test_it_counts_refreshes_by_provider_and_outcome_and_the_fleet(
        connect_many, sandbox, staff, client):
    ok, broken, _ = connect_many(3)
    sandbox.revoke_grant(broken.connected_by)
    assert run_command("refresh_tokens")[0] == 1
    client.force_login(staff)
    samples, text = scrape(client)
    assert samples[("integrations_refreshes_total",
                    (("outcome", "ok"), ("provider", "sandbox")))] == 2
    assert samples[("integrations_refreshes_total",
                    (("outcome", "reauth"), ("provider", "sandbox")))] == 1
    assert samples[("integrations_refresh_duration_seconds_count", ())] == 3
    assert samples[("integrations_refresh_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert samples[("integrations_by_status", (("status", "active"),))] == 2
    assert samples[("integrations_by_status", (("status", "reauth_required"),))] == 1
    assert samples[("integrations_credentials_expiring", (("within", "1h"),))] == 2  # 3600 s tokens
    assert samples[("integrations_needing_attention", ())] == 1
    assert samples[("integrations_last_proactive_run_outcome", (("outcome", "failures"),))] == 1
    assert samples[("integrations_last_proactive_run_finished_timestamp_seconds", ())] > 0
    for integration in (ok, broken):  # no token, no account, no person
        assert integration.display_name not in text and integration.connected_by.email not in text


def test_it_adds_up_counts_from_other_processes_through_the_cache(db, staff, client):
    # What a Celery worker elsewhere flushed into the shared counters.
    cache.set(metrics.PREFIX + "refresh:gmail:transient", 7, timeout=None)
    metrics.record_refresh("gmail", "transient", 0.2)  # and one in this process, not yet flushed
    client.force_login(staff)
    samples, _ = scrape(client)
    assert samples[("integrations_refreshes_total",
                    (("outcome", "transient"), ("provider", "gmail")))] == 8


def test_it_carries_no_token(connected, sandbox, staff, client):
    tokens.ensure_fresh(connected, force=True)
    client.force_login(staff)
    _, text = scrape(client)
    cred = connected.credential
    cred.refresh_from_db()
    assert cred.access_token not in text and cred.refresh_token not in text
