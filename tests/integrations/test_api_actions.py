"""Disconnect, remove and refresh now through the API, over real HTTP against the sandbox: the
same token service as the pages; a team member who is not an admin may not disconnect or remove
(the demo's TeamAdapter): a 403."""

import pytest
from django.test import Client

from accounts.models import Membership
from integrations.models import Integration, OAuthCredential
from tests.conftest import owner_of
from tests.helpers import api_call, connect


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def integration(sandbox, logged_in, owner):
    assert connect(logged_in, sandbox, owner).status_code == 302
    return Integration.objects.get()


@pytest.fixture
def as_member(owner, django_user_model):
    """dana: a plain member of alice's team."""
    dana = django_user_model.objects.create_user("dana", "dana@example.com", "pw-dana-1")
    Membership.objects.create(team=owner_of(owner), user=dana, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(dana)
    return client


def test_it_disconnects_and_revokes_at_the_provider(integration, logged_in, sandbox):
    status, data = api_call(logged_in, "POST", f"integrations/{integration.pk}/disconnect")
    assert status == 200 and data["revoked"] is True
    assert data["integration"]["status"] == "disconnected"
    assert data["integration"]["action"] is None
    cred = OAuthCredential.objects.get(integration=integration)
    assert cred.access_token is None and cred.refresh_token is None
    assert sandbox.calls("revoke") == 1


def test_it_refuses_a_member_who_is_not_an_admin(integration, as_member):
    for method, path in [("POST", f"integrations/{integration.pk}/disconnect"),
                         ("DELETE", f"integrations/{integration.pk}")]:
        status, error = api_call(as_member, method, path)
        assert (status, error["code"]) == (403, "forbidden"), path
        assert error["message"].startswith("You may not")
    assert Integration.objects.get().status == "active"
    assert api_call(as_member, "GET", f"integrations/{integration.pk}")[0] == 200


def test_it_removes_only_a_disconnected_integration(integration, logged_in):
    status, error = api_call(logged_in, "DELETE", f"integrations/{integration.pk}")
    assert (status, error["code"]) == (409, "not_disconnected")
    assert api_call(logged_in, "POST", f"integrations/{integration.pk}/disconnect")[0] == 200
    assert api_call(logged_in, "DELETE", f"integrations/{integration.pk}") == (204, None)
    assert not Integration.objects.exists()
    assert api_call(logged_in, "GET", f"integrations/{integration.pk}")[0] == 404


def test_it_refreshes_now(integration, logged_in, sandbox):
    before = OAuthCredential.objects.get(integration=integration).access_token
    status, data = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert status == 200 and data["status"] == "active" and data["last_renewed_at"]
    assert OAuthCredential.objects.get(integration=integration).access_token != before
    assert sandbox.token_requests("refresh_token") == 1


def test_it_says_a_revoked_grant_needs_a_reconnect(integration, logged_in, sandbox, owner):
    sandbox.revoke_grant(owner)
    status, error = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert status == 409 and error["code"] == "reauth_required"
    assert error["requires_reauth"] is True and "Reconnect to continue." in error["message"]
    assert Integration.objects.get().status == "reauth_required"
    status, error = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert status == 409 and error["requires_reauth"] is True  # still, without asking again
    assert sandbox.token_requests("refresh_token") == 1


def test_it_says_a_provider_outage_is_temporary(integration, logged_in, sandbox):
    sandbox.inject("token", "503", times=None)
    status, error = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert (status, error["code"], error["requires_reauth"]) == (503, "provider_unavailable",
                                                                 False)
    assert error["retry_after"] >= 1 and "temporary problem" in error["message"]
    assert Integration.objects.get().status == "active"


def test_it_throttles_refresh_now_per_user(integration, logged_in, settings):
    settings.INTEGRATIONS_API_THROTTLE_RATES = {"refresh": "1/min"}
    assert api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")[0] == 200
    status, error = api_call(logged_in, "POST", f"integrations/{integration.pk}/refresh")
    assert (status, error["code"]) == (429, "throttled") and error["retry_after"] >= 1
