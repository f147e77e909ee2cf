"""A reconnect clears the sync error the broken grant caused, for every provider (the core does
it in store_grant, whichever app syncs); an error a new grant does not fix stays."""

import pytest

from integrations import tokens
from integrations.models import Integration, IntegrationEvent
from integrations.oauth_client import TokenResponse
from integrations.providers import registry


def failed_sync(integration, code, message):
    Integration.objects.filter(pk=integration.pk).update(
        status="reauth_required", last_sync_status="error", last_sync_message=message)
    IntegrationEvent.objects.record(integration.pk, "sync", "error", error_code=code,
                                    message=message)


def reconnect(owner, integration):
    token = TokenResponse(access_token="new-access-token-SECRET",
                          refresh_token="new-refresh-token-SECRET", expires_in=3600,
                          scopes=["Mail.Read"])
    again, created = tokens.store_grant(
        integration.owner, registry.find("microsoft"),
        {"id": integration.external_id, "name": integration.display_name}, token, ["Mail.Read"],
        user=owner)
    assert not created and again.pk == integration.pk
    return Integration.objects.get(pk=integration.pk)


@pytest.mark.parametrize("code", ["reauth_required", "unauthorized"])
def test_it_clears_a_grant_caused_sync_error_of_any_provider(db, owner, make_integration, code):
    integration = make_integration(owner, "microsoft")
    failed_sync(integration, code, "Reconnect needed: the mailbox refused the token.")
    assert Integration.objects.needs_attention().filter(pk=integration.pk).exists()

    again = reconnect(owner, integration)

    assert again.status == "active"
    assert again.last_sync_status == "never" and again.last_sync_message == ""
    assert again.last_synced_at == integration.last_synced_at  # the failed attempt's time kept
    assert not Integration.objects.needs_attention().filter(pk=again.pk).exists()
    assert again.events.filter(kind="sync", error_code=code).exists()  # history kept


def test_it_keeps_a_sync_error_a_new_grant_does_not_fix(db, owner, make_integration):
    integration = make_integration(owner, "microsoft")
    failed_sync(integration, "quota_exceeded", "The mailbox quota is used up.")
    again = reconnect(owner, integration)
    assert again.last_sync_status == "error"
    assert again.last_sync_message == "The mailbox quota is used up."


def test_it_looks_at_the_last_sync_only(db, owner, make_integration):
    integration = make_integration(owner, "microsoft")
    failed_sync(integration, "reauth_required", "Reconnect needed.")
    failed_sync(integration, "http_500", "The API was unavailable.")  # a later, other failure
    assert reconnect(owner, integration).last_sync_status == "error"
