"""A Microsoft 365 mailbox for IMAP and SMTP: a provider of its own (the Outlook resource's
scopes; one token is for one resource), its account read from the ID token of the token answer,
since an Outlook token cannot call Graph's /me. Microsoft's token endpoint is mocked (the sandbox
issues no ID token and no Outlook-resource tokens); the rest is the real connect flow."""

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client

from integrations.models import Integration
from integrations.providers import registry
from tests.helpers import configure_provider, page_text

TOKEN_URL = "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
IMAP, SMTP = ("https://outlook.office.com/IMAP.AccessAsUser.All",
              "https://outlook.office.com/SMTP.Send")


def jwt(claims) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def microsoft(settings):
    configure_provider(settings, "microsoft", client_id="ms-client-id",
                       client_secret="ms-client-secret-value", tenant="contoso.example")


def connect(owner, id_claims):
    client = Client()
    client.force_login(owner)
    start = client.get("/integrations/connect/microsoft_mail/")
    query = parse_qs(urlsplit(start["Location"]).query)
    answer = {"access_token": "EwB-outlook-access-token-SECRET",
              "refresh_token": "M.R3-outlook-refresh-token-SECRET", "expires_in": 3600,
              "token_type": "Bearer", "scope": f"{IMAP} {SMTP} openid email profile",
              "id_token": jwt(id_claims)}
    with responses.RequestsMock() as provider:  # any other request (Graph's /me) fails loudly
        provider.post(TOKEN_URL, json=answer)
        done = client.get("/integrations/callback/microsoft_mail/",
                          {"state": query["state"][0], "code": "ms-code-0123456789"})
    return query, done


def test_it_asks_for_the_outlook_resource_and_an_id_token(db, owner, microsoft):
    provider = registry.get("microsoft_mail")
    assert provider.configured and provider.client_id == "ms-client-id"  # microsoft's client
    query, _ = connect(owner, {})
    assert {IMAP, SMTP, "openid", "offline_access"} <= set(query["scope"][0].split())
    assert not any("graph.microsoft.com" in s for s in query["scope"][0].split())


def test_it_reads_the_account_from_the_id_token(db, owner, microsoft):
    claims = {"aud": "ms-client-id", "iss": "https://login.microsoftonline.com/t/v2.0",
              "exp": time.time() + 3600, "oid": "00000000-0000-0000-0000-00000000abcd",
              "preferred_username": "ann@contoso.example"}
    _, done = connect(owner, claims)
    assert done.status_code == 302, page_text(done)[:2000]
    integration = Integration.objects.get(provider="microsoft_mail")
    assert (integration.external_id, integration.display_name) == (
        "00000000-0000-0000-0000-00000000abcd", "ann@contoso.example")
    assert integration.credential.scopes and IMAP in integration.credential.scopes


@pytest.mark.parametrize("claims", [
    {},  # no ID token
    {"aud": "someone-else", "exp": time.time() + 3600, "oid": "x", "preferred_username": "a"},
    {"aud": "ms-client-id", "exp": time.time() - 3600, "oid": "x", "preferred_username": "a"},
])
def test_it_stores_nothing_without_a_usable_id_token(db, owner, microsoft, claims):
    _, done = connect(owner, claims)
    assert done.status_code == 502
    assert not Integration.objects.exists()
