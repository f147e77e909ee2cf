"""The host's own tests of the installed wheel, for whichever user model HOSTPROJECT_USER picks
(Django's User; an email-only model without `username`; a model with no email field and a UUID
key): connect → refresh → Sync now → detail → disconnect against the sandbox mounted in this
host, admin's list and search, the re-auth notice, token_health and the sandbox's commands."""

import json
import logging
import os
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core import mail
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from gbp.models import GbpLocation
from integrations import signals, tokens
from integrations.models import Integration, Notice, OAuthCredential

USER = os.environ.get("HOSTPROJECT_USER", "default")


def has_field(model, name) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def make_user(name, **extra):
    """A user of whatever model this host has: only USERNAME_FIELD and, if the model has one,
    an email address."""
    User = get_user_model()
    login = f"{name}@example.com" if User.USERNAME_FIELD == "email" else name
    fields = {User.USERNAME_FIELD: login, "password": "pw-host-1", **extra}
    if User.USERNAME_FIELD != "email" and has_field(User, "email"):
        fields["email"] = f"{name}@example.com"
    return User._default_manager.create_user(**fields)


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


def connect(client, sandbox, user):
    """Our connect URL → the sandbox's consent page → Allow → our callback."""
    start = client.get("/integrations/connect/sandbox/")
    assert start.status_code == 302, start.status_code
    assert start["Location"].startswith(sandbox.url("o/authorize/"))
    back = urlsplit(sandbox.consent(user, start["Location"]))
    assert back.path == "/integrations/callback/sandbox/", back.path
    done = client.get(back.path, parse_qs(back.query))
    assert done.status_code == 302, done.content.decode()[:2000]
    return Integration.objects.get(connected_by=user, provider="sandbox")


def test_it_runs_on_the_user_model_it_was_given():
    User = get_user_model()
    expected = {"default": ("auth", "username", True), "email": ("emailusers", "email", True),
                "handle": ("handleusers", "handle", False)}[USER]
    assert (User._meta.app_label, User.USERNAME_FIELD, has_field(User, "email")) == expected
    assert not has_field(User, "username") or USER == "default"


def test_it_connects_refreshes_syncs_and_disconnects(sandbox, client):
    user = make_user("hostuser")
    client.force_login(user)

    # The core's page (templates and static files from the wheel) offers the sandbox provider.
    page = client.get("/integrations/")
    assert page.status_code == 200
    assert "Google Business Profile (sandbox)" in page.content.decode()
    assert "integrations/integrations.css" in page.content.decode()
    assert finders.find("integrations/integrations.css")

    integration = connect(client, sandbox, user)
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

    # Sync now (tasks run in-process here), then the detail page shows what was synced. In the
    # request, not on a background thread (GBP_SYNC_IN_THREAD, the default): a thread's
    # connection would not see this test's transaction. The README's test runs the default on a
    # server, where the sync runs on its thread.
    with override_settings(GBP_SYNC_IN_THREAD=False):
        r = client.post(f"/integrations/gbp/{integration.pk}/sync/", follow=True)
    html = r.content.decode()
    assert r.status_code == 200 and "Sync finished." in html, html[:3000]
    integration.refresh_from_db()
    assert integration.last_sync_status == Integration.SyncStatus.OK
    assert GbpLocation.objects.filter(integration=integration).exists()
    assert "No locations synced yet" not in html

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


def test_it_tells_the_owner_once_and_names_them_in_token_health(sandbox, client, caplog):
    user = make_user("owner")
    client.force_login(user)
    integration = connect(client, sandbox, user)
    told = []
    signals.reauth_required.connect(handler := lambda **kw: told.append(kw), weak=False)

    # The user revokes our access at the provider (the sandbox's command, by their login).
    out = StringIO()
    call_command("sandbox", "revoke", user.get_username(), stdout=out)
    assert "revoked 1 grant(s)" in out.getvalue()
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                with pytest.raises(tokens.ReauthRequired):
                    tokens.ensure_fresh(integration, force=True)
    finally:
        signals.reauth_required.disconnect(handler)

    assert len(told) == 1  # the signal, whatever the user model
    notice = Notice.objects.get(integration=integration)
    assert notice.status == Notice.Status.SENT
    if USER == "handle":  # no email field: not emailed, said once in the log
        assert mail.outbox == [] and notice.recipients == 0
        assert caplog.text.count("has no email address") == 1
    else:
        assert [m.to for m in mail.outbox] == [["owner@example.com"]]
        assert mail.outbox[0].body.startswith(f"Hello {user.get_username()},")

    out = StringIO()
    with pytest.raises(SystemExit) as exited:  # 1: someone must reconnect
        call_command("token_health", "--json", stdout=out)
    assert exited.value.code == 1
    listed = json.loads(out.getvalue())["reauth_required"]["accounts"]
    reached = "owner@example.com" if USER != "handle" else "owner"
    # Owners are users here: the owner is named by its login, reached at its address.
    assert [(a["id"], a["owner"], a["connected_by"]) for a in listed] == [
        (integration.pk, user.get_username(), reached)]


def test_the_admin_lists_and_searches_integrations(sandbox, client, admin_client):
    user = make_user("searchable")
    client.force_login(user)
    integration = connect(client, sandbox, user)
    listing = admin_client.get("/admin/integrations/integration/")
    assert listing.status_code == 200
    for query in (user.get_username(), integration.display_name.split(" ")[0]):
        found = admin_client.get("/admin/integrations/integration/", {"q": query})
        assert found.status_code == 200, query
        assert f"/admin/integrations/integration/{integration.pk}/change/" in found.content.decode()
    assert admin_client.get(
        f"/admin/integrations/integration/{integration.pk}/change/").status_code == 200


def test_the_sandbox_commands_find_users_by_their_login(sandbox, client):
    user = make_user("commanded")
    client.force_login(user)
    connect(client, sandbox, user)
    out = StringIO()
    call_command("sandbox", "expire", user.get_username(), stdout=out)
    assert "expired 1 access token(s)" in out.getvalue()
    call_command("sandbox", "status", stdout=out)


def test_the_settings_use_the_apps_prefixed_names():
    for old in ("FERNET_KEYS", "OAUTH_ALLOW_INSECURE_TRANSPORT", "INTEGRATION_PROVIDERS",
                "GOOGLE_CLIENT_ID"):
        assert not hasattr(settings, old), old


@pytest.mark.django_db(transaction=True)
def test_a_database_made_before_owners_keeps_every_row():
    """Owners are users in this host: each integration's owner becomes its user."""
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
        executor.loader.build_graph()
        return executor.loader.project_state(targets).apps

    old = migrate([("integrations", "0008_faults"), ("gbp", "0002_sync_state_and_review_sync")])
    user = make_user("before")
    row = old.get_model("integrations", "Integration").objects.create(
        user_id=user.pk, provider="sandbox", external_id="acct-before", display_name="before")
    old.get_model("integrations", "OAuthCredential").objects.create(
        integration=row, access_token="before-access-token", refresh_token="before-refresh")
    old.get_model("integrations", "IntegrationEvent").objects.create(
        integration=row, kind="connected", outcome="ok")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    integration = Integration.objects.get(pk=row.pk)
    assert (integration.owner, integration.connected_by) == (user, user)
    assert integration.credential.refresh_token == "before-refresh"
    assert integration.events.count() == 1
