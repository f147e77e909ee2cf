import json

import pytest

from integrations import http, tokens
from integrations.models import OAuthCredential
from tests.helpers import run_command


def run(*args):
    return run_command("token_health", *args)


def test_it_reports_valid_refreshed_and_failed(connect_many, sandbox, monkeypatch):
    monkeypatch.setattr(http, "wait", lambda s: None)
    fine, due, broken = connect_many(3)
    OAuthCredential.objects.filter(integration=fine).update(
        expires_at=OAuthCredential.objects.get(integration=fine).expires_at.replace(year=2099))
    OAuthCredential.objects.filter(integration=due).update(expires_at=None)
    OAuthCredential.objects.filter(integration=broken).update(expires_at=None)
    sandbox.revoke_grant(broken.user)
    code, out = run()
    assert code == 1
    assert f"integration {fine.pk} sandbox {fine.display_name}: valid" in out
    assert f"integration {due.pk} sandbox {due.display_name}: refreshed" in out
    assert f"integration {broken.pk} sandbox {broken.display_name}: failed (invalid_grant)" in out
    assert "Needs re-authentication" in out and broken.user.email in out
    assert "reconnects it on the integrations page" in out


def test_it_prints_json_and_exits_0_when_all_is_well(connect_many, sandbox):
    connect_many(1)
    code, out = run("--json")
    data = json.loads(out)
    assert code == 0 and data["credentials"][0]["state"] in ("valid", "refreshed")
    assert data["reauth_required"] == []


@pytest.mark.django_db
def test_it_handles_no_integrations():
    assert run()[0] == 0
