"""What the gbp app does when the core says an integration was connected or reconnected."""

from integrations.models import Integration, IntegrationEvent
from gbp.sync import GbpSyncService
from tests.helpers import connect


def reconnect(client, sandbox, owner, integration):
    r = connect(client, sandbox, owner, query=f"?integration={integration.pk}")
    assert r.status_code == 302
    integration.refresh_from_db()
    return integration


def test_it_clears_the_sync_error_a_revoked_grant_caused(connected, sandbox, client, owner):
    sandbox.revoke_grant(owner)
    assert GbpSyncService().sync(connected).error_code == "reauth_required"
    connected.refresh_from_db()
    assert connected.status == "reauth_required" and connected.last_sync_status == "error"

    again = reconnect(client, sandbox, owner, connected)
    assert again.status == "active"
    assert again.last_sync_status == "never" and again.last_sync_message == ""
    assert not Integration.objects.needs_attention().filter(pk=again.pk).exists()
    assert Integration.objects.needs_attention_count() == 0
    # The failed sync stays in the history, for operators.
    assert again.events.filter(kind="sync", error_code="reauth_required").exists()


def test_it_keeps_a_sync_error_a_new_grant_does_not_fix(connected, sandbox, client, owner):
    message = "Google refused access (403). An operator must enable the APIs."
    Integration.objects.filter(pk=connected.pk).update(last_sync_status="error",
                                                       last_sync_message=message)
    IntegrationEvent.objects.record(connected.pk, "sync", "error",
                                    error_code="permission_denied", message=message)
    again = reconnect(client, sandbox, owner, connected)
    assert again.last_sync_status == "error" and again.last_sync_message == message
    assert Integration.objects.needs_attention().filter(pk=again.pk).exists()
