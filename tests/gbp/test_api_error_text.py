"""Google's API error text is kept for operators (the sync's message, the history, the log,
admin), scrubbed of every secret the request carried: a server that echoes the access token
(or the Authorization header, or the client secret) leaves "[redacted]" behind, nowhere the
token."""

import json
from urllib.parse import quote

import pytest

from gbp.sync import GbpSyncService
from integrations import http
from integrations.models import Integration, IntegrationEvent


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 3
    monkeypatch.setattr(http, "wait", lambda s: None)


def google_error(status, message):
    return json.dumps({"error": {"code": status, "message": message, "status": "X"}})


@pytest.mark.parametrize("endpoint,status,code", [
    ("accounts", 403, "permission_denied"),
    ("locations", 400, "http_400"),
    ("reviews", 403, "permission_denied"),
])
def test_it_keeps_no_secret_google_echoes_in_its_error_text(connected, sandbox, client, staff,
                                                            settings, endpoint, status, code):
    token = connected.credential.access_token
    secret = settings.SANDBOX_CLIENT_SECRET
    echoed = (f"Request had invalid credentials: Authorization: Bearer {token}; "
              f"access_token={quote(token, safe='')}; client {secret}. "
              f"See https://developers.google.com/?token={token}&x={'y' * 600}")
    sandbox.inject(endpoint, "status", times=None, status=status,
                   body=google_error(status, echoed), content_type="application/json")

    result = GbpSyncService(concurrency=1).sync(connected)

    assert not result.ok and result.error_code == code
    connected.refresh_from_db()
    kept = [connected.last_sync_message, result.message,
            *IntegrationEvent.objects.filter(integration=connected).values_list("message",
                                                                                  flat=True)]
    assert "Bearer [redacted]" in connected.last_sync_message  # Google's words, minus the token
    for text in kept:
        assert token not in text and quote(token, safe="") not in text and secret not in text
    client.force_login(staff)
    pages = {url: client.get(url) for url in (
        f"/admin/integrations/integration/{connected.pk}/change/",
        "/admin/integrations/integration/", "/admin/integrations/integrationevent/")}
    for page in pages.values():
        assert page.status_code == 200 and token not in page.content.decode()
    change_page = pages[f"/admin/integrations/integration/{connected.pk}/change/"]
    assert "Bearer [redacted]" in change_page.content.decode()  # the message and the history
    # The leak detector (tests/leaks.py) checks the log lines and the pages of this test too.


def test_it_cuts_googles_text_only_after_scrubbing_it(connected, sandbox):
    token = connected.credential.access_token
    # The token straddles the 500th character: cut first, half of it would survive.
    message = "x" * (500 - len(token) // 2) + token
    sandbox.inject("accounts", "status", times=None, status=400,
                   body=google_error(400, message), content_type="application/json")
    result = GbpSyncService(concurrency=1).sync(connected)
    assert result.error_code == "http_400"
    assert token[: len(token) // 2] not in result.message
    assert Integration.objects.get(pk=connected.pk).last_sync_message == result.message
