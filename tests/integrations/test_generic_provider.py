"""A provider declared only in settings, talking to the sandbox as a plain OAuth 2.0 server."""

from integrations import tokens
from integrations.models import Integration
from sandbox import ops
from tests.helpers import connect


def test_it_connects_refreshes_and_disconnects_a_settings_only_provider(
        sandbox, client, owner, settings):
    base = sandbox.base_url + "/sandbox"
    settings.INTEGRATIONS_PROVIDERS = {**settings.INTEGRATIONS_PROVIDERS, "acme": {
        "name": "Acme (generic OAuth 2.0)",
        "authorize_url": f"{base}/o/authorize/", "token_url": f"{base}/o/token/",
        "revoke_url": f"{base}/o/revoke_token/", "userinfo_url": f"{base}/userinfo",
        "id_field": "sub", "name_field": "email", "scopes": ["openid", "email"],
        "required_scopes": ["email"], "client_id": settings.SANDBOX_CLIENT_ID,
        "client_secret": settings.SANDBOX_CLIENT_SECRET, "client_auth": "basic",
    }}
    ops.register_client([f"{sandbox.base_url}/integrations/callback/sandbox/",
                         f"{sandbox.base_url}/integrations/callback/acme/"])
    client.force_login(owner)

    assert connect(client, sandbox, owner, provider="acme").status_code == 302
    integration = Integration.objects.get(provider="acme")
    old = integration.credential.refresh_token

    cred = tokens.ensure_fresh(integration, force=True)
    assert cred.refresh_token != old  # rotated by the server, stored by us

    client.post(f"/integrations/{integration.pk}/disconnect/")
    integration.refresh_from_db()
    assert integration.status == "disconnected"
    assert sandbox.calls("revoke") == 1
