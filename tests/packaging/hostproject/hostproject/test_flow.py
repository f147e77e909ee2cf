"""The host's own tests of the installed wheel: connect → refresh → sync → disconnect against
the sandbox mounted in this host, with Django's default User."""

from urllib.parse import parse_qs, urlsplit

import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.db import connection

from gbp.models import GbpAccount, GbpLocation
from gbp.sync import GbpSyncService
from integrations import tokens
from integrations.models import Integration, OAuthCredential


def raw_tokens(integration):
    """The token columns as stored (ciphertext), bypassing the encrypted fields."""
    table = connection.ops.quote_name(OAuthCredential._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT access_token, refresh_token FROM {table} "
                       "WHERE integration_id = %s", [integration.pk])
        row = cursor.fetchone()
    # BinaryField columns: bytes on SQLite, memoryview on PostgreSQL.
    return tuple(None if v is None else v.encode() if isinstance(v, str) else bytes(v)
                 for v in row)


def test_it_runs_on_the_default_user_model():
    assert get_user_model() is User


def test_it_connects_refreshes_syncs_and_disconnects(sandbox, client):
    user = User.objects.create_user("hostuser", "hostuser@example.com", "pw-host-1")
    client.force_login(user)

    # The core's page (templates and static files from the wheel) offers the sandbox provider.
    page = client.get("/integrations/")
    assert page.status_code == 200
    assert "Google Business Profile (sandbox)" in page.content.decode()
    assert "integrations/integrations.css" in page.content.decode()
    assert finders.find("integrations/integrations.css")

    # Connect: our connect URL → the sandbox's consent page → Allow → our callback.
    start = client.get("/integrations/connect/sandbox/")
    assert start.status_code == 302, start.status_code
    assert start["Location"].startswith(sandbox.url("o/authorize/"))
    back = urlsplit(sandbox.consent(user, start["Location"]))
    assert back.path == "/integrations/callback/sandbox/", back.path
    done = client.get(back.path, parse_qs(back.query))
    assert done.status_code == 302, done.content.decode()[:2000]

    integration = Integration.objects.get(user=user, provider="sandbox")
    assert integration.status == Integration.Status.ACTIVE
    cred = integration.credential
    assert cred.access_token and cred.refresh_token and cred.expires_at
    stored_access, stored_refresh = raw_tokens(integration)
    assert stored_access and cred.access_token.encode() not in stored_access
    assert stored_refresh and cred.refresh_token.encode() not in stored_refresh

    # Refresh: a forced refresh at the sandbox's token endpoint rotates the tokens.
    before = (cred.access_token, cred.refresh_token)
    fresh = tokens.ensure_fresh(integration, force=True)
    assert fresh.access_token != before[0]
    assert fresh.refresh_token != before[1]  # the sandbox rotates refresh tokens
    assert OAuthCredential.objects.get(integration=integration).access_token == fresh.access_token

    # Sync: the sandbox's Google Business Profile-shaped API into the gbp app's tables.
    result = GbpSyncService().sync(integration)
    assert result.ok, result.message
    assert result.accounts == GbpAccount.objects.filter(integration=integration).count() > 0
    assert result.locations == GbpLocation.objects.filter(integration=integration).count() > 0
    assert result.metric_rows > 0
    integration.refresh_from_db()
    assert integration.last_sync_status == Integration.SyncStatus.OK
    detail = client.get(f"/integrations/gbp/{integration.pk}/")
    assert detail.status_code == 200

    # Disconnect: revoked at the sandbox, tokens wiped here.
    token = fresh.access_token
    r = client.post(f"/integrations/{integration.pk}/disconnect/")
    assert r.status_code == 302, r.status_code
    integration.refresh_from_db()
    assert integration.status == Integration.Status.DISCONNECTED
    cred = OAuthCredential.objects.get(integration=integration)
    assert cred.access_token is None and cred.refresh_token is None
    assert raw_tokens(integration) == (None, None)
    userinfo = requests.get(sandbox.url("userinfo"), timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert userinfo.status_code == 401


def test_the_admin_lists_integrations(admin_client):
    assert admin_client.get("/admin/integrations/integration/").status_code == 200
