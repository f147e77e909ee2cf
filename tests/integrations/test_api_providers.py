"""The API's providers (what may be connected) and owners (whom the user acts for)."""

import pytest
from django.test import Client

from accounts.models import Membership, Team
from tests.conftest import create_integration, owner_of
from tests.helpers import api_call, configure_provider


@pytest.fixture
def as_alice(db, owner):
    client = Client()
    client.force_login(owner)
    return client


def test_it_lists_the_providers_and_whether_they_may_be_connected(as_alice, settings):
    configure_provider(settings, "google", client_id="google-client-id",
                       client_secret="google-client-secret-value")
    configure_provider(settings, "amazon", client_id="")
    status, providers = api_call(as_alice, "GET", "providers")
    assert status == 200
    by_id = {p["id"]: p for p in providers}
    assert by_id["google_business_profile"] == {
        "id": "google_business_profile", "name": "Google Business Profile",
        "description": "Locations, daily performance metrics and reviews.",
        "configured": True, "may_connect": True}
    assert (by_id["amazon"]["configured"], by_id["amazon"]["may_connect"]) == (False, False)
    assert "google-client-secret-value" not in str(providers)


def test_it_says_the_providers_in_the_requests_language(as_alice, settings):
    configure_provider(settings, "google", client_id="google-client-id")
    status, providers = api_call(as_alice, "GET", "providers", HTTP_ACCEPT_LANGUAGE="de")
    gbp = next(p for p in providers if p["id"] == "google_business_profile")
    assert gbp["description"] != "Locations, daily performance metrics and reviews."


def test_it_lists_and_switches_owners(as_alice, owner, other):
    bobs_team = Team.objects.get(memberships__user=other)
    Membership.objects.create(team=bobs_team, user=owner, role=Membership.Role.MEMBER)
    theirs = create_integration(other)
    status, data = api_call(as_alice, "GET", "owners")
    assert status == 200 and data["current"] == str(owner_of(owner).pk)
    assert {o["name"] for o in data["owners"]} == {"alice's team", "bob's team"}
    assert api_call(as_alice, "GET", f"integrations/{theirs.pk}")[0] == 404

    status, data = api_call(as_alice, "POST", "owners/current", {"owner": str(bobs_team.pk)})
    assert status == 200 and data["current"] == str(bobs_team.pk)
    status, entry = api_call(as_alice, "GET", f"integrations/{theirs.pk}")
    assert status == 200 and entry["may"]["disconnect"] is False  # a member, not an admin

    stranger = Team.objects.create(name="Strangers")
    status, error = api_call(as_alice, "POST", "owners/current", {"owner": str(stranger.pk)})
    assert (status, error["code"]) == (404, "not_found")
