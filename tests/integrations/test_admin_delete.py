"""Deleting integrations in admin revokes them at the provider first, as a disconnect does: no
delete path leaves a live grant behind."""

import pytest
import requests

from integrations import oauth_client
from integrations.errors import ReauthError
from integrations.models import Integration
from integrations.providers import registry

CHANGELIST = "/admin/integrations/integration/"


def grant_of(integration):
    cred = integration.credential
    return cred.access_token, cred.refresh_token


def assert_dead_at_the_provider(sandbox, access_token, refresh_token):
    me = requests.get(sandbox.url("userinfo"), timeout=10,
                      headers={"Authorization": f"Bearer {access_token}"})
    assert me.status_code == 401
    with pytest.raises(ReauthError) as refused:
        oauth_client.refresh(registry.find("sandbox"), refresh_token)
    assert refused.value.code == "invalid_grant"


def test_it_revokes_before_a_bulk_delete(connected, sandbox, client, staff):
    access, refresh = grant_of(connected)
    client.force_login(staff)
    r = client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [connected.pk],
                                 "post": "yes"})
    assert r.status_code == 302
    assert not Integration.objects.exists()
    assert sandbox.calls("revoke") == 1
    assert_dead_at_the_provider(sandbox, access, refresh)


def test_it_revokes_before_a_delete_from_the_delete_page(connected, sandbox, client, staff):
    access, refresh = grant_of(connected)
    client.force_login(staff)
    r = client.post(f"{CHANGELIST}{connected.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not Integration.objects.exists()
    assert_dead_at_the_provider(sandbox, access, refresh)


def test_it_does_not_revoke_a_disconnected_integration_twice(connected, sandbox, client, owner,
                                                              staff):
    client.post(f"/integrations/{connected.pk}/disconnect/")
    assert sandbox.calls("revoke") == 1
    client.force_login(staff)
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [connected.pk],
                             "post": "yes"})
    assert not Integration.objects.exists() and sandbox.calls("revoke") == 1


def test_it_deletes_even_when_the_provider_does_not_answer(connected, sandbox, client, staff):
    sandbox.inject("revoke", "503")
    client.force_login(staff)
    client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [connected.pk],
                             "post": "yes"})
    assert not Integration.objects.exists()  # revoked best effort, as a disconnect is
