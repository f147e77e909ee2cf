"""The API's integrations: the list (paginated) and one, with their health in plain words and who
must act, what the consumers offer, what the request may do; never a token."""

import pytest
from django.test import Client

from integrations.models import Integration, OAuthCredential
from tests.conftest import create_integration, owner_of
from tests.helpers import api_call


@pytest.fixture
def as_alice(db, owner):
    client = Client()
    client.force_login(owner)
    return client


def test_it_lists_the_owners_integrations_with_their_health(as_alice, owner):
    gbp = create_integration(owner, display_name="shop@example.com",
                             scopes=["https://www.googleapis.com/auth/business.manage", "email"])
    create_integration(owner, "gmail", status=Integration.Status.REAUTH_REQUIRED,
                       last_error_code="invalid_grant", last_error_kind="reauth")
    status, page = api_call(as_alice, "GET", "integrations")
    assert status == 200
    assert (page["count"], page["page"], page["page_size"]) == (2, 1, 50)
    second, first = page["items"]  # by provider: gmail, then google_business_profile
    assert first["id"] == gbp.pk and first["provider_name"] == "Google Business Profile"
    assert first["account"] == "shop@example.com" and first["status"] == "active"
    assert first["scopes"] == ["https://www.googleapis.com/auth/business.manage", "email"]
    assert first["requires_reauth"] is False and first["action"] is None
    assert first["reason"] is None and first["offers"] == {"sync": True, "data": True}
    assert first["may"]["disconnect"] and first["expires_at"]
    assert first["last_sync"] == {"status": "never", "at": None}
    assert second["provider"] == "gmail" and second["requires_reauth"] is True
    assert second["action"] == "reconnect" and second["status_label"] == "Needs reconnect"
    assert second["reason"] == ("Gmail says our access was revoked or has expired. Reconnect to "
                                "continue.")
    assert second["offers"] == {"sync": False, "data": False}


def test_it_says_who_must_act(as_alice, owner):
    operator = create_integration(owner, last_error_code="invalid_client",
                                  last_error_kind="operator")
    transient = create_integration(owner, "gmail", last_error_code="timeout",
                                   last_error_kind="transient")
    for integration, action, words in [
            (operator, "contact_support", "configuration problem on our side"),
            (transient, "wait", "temporary problem")]:
        status, data = api_call(as_alice, "GET", f"integrations/{integration.pk}")
        assert status == 200 and data["action"] == action and words in data["reason"]


def test_it_pages_through_the_list(as_alice, owner):
    ids = [create_integration(owner, "gmail", display_name=f"a{n:02}@example.com").pk
           for n in range(5)]
    seen = []
    for page in (1, 2, 3):
        status, data = api_call(as_alice, "GET", f"integrations?page={page}&page_size=2")
        assert status == 200 and data["count"] == 5
        seen += [item["id"] for item in data["items"]]
    assert seen == ids
    assert api_call(as_alice, "GET", "integrations?page=4&page_size=2")[1]["items"] == []
    assert api_call(as_alice, "GET", "integrations?page_size=101")[0] == 422


def test_it_shows_only_the_owners_integrations(as_alice, owner, other):
    create_integration(other)
    assert api_call(as_alice, "GET", "integrations")[1]["count"] == 0


def test_it_never_shows_a_token(as_alice, owner):
    integration = create_integration(owner)
    cred = OAuthCredential.objects.get(integration=integration)
    for path in ("integrations", f"integrations/{integration.pk}"):
        response = as_alice.get("/integrations/api/v1/" + path)
        body = response.content.decode()
        assert cred.access_token not in body and cred.refresh_token not in body


def test_it_gives_a_members_rights_in_may(db, owner):
    from accounts.models import Membership

    member = type(owner).objects.create_user("dana", "dana@example.com", "pw-dana-1")
    Membership.objects.create(team=owner_of(owner), user=member, role=Membership.Role.MEMBER)
    integration = create_integration(owner)
    client = Client()
    client.force_login(member)
    status, data = api_call(client, "GET", f"integrations/{integration.pk}")
    assert status == 200
    assert data["may"] == {"view": True, "reconnect": True, "disconnect": False,
                           "remove": False, "sync": True, "refresh": True, "reply": True}
