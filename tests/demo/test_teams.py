"""Connections that belong to a team (the demo host: INTEGRATIONS_OWNER_MODEL = accounts.Team
with its TeamAdapter). Members share a team's connections; another team's member gets a 404 on
every URL of them; only the team's admins disconnect or remove; the integration stays with the
team when the user who connected it is deleted; a notice reaches whom the adapter says."""

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Membership, Team
from gbp.models import GbpLocation
from integrations import signals, tokens
from integrations.models import Integration, OAuthCredential
from tests.helpers import connect, page_text


@pytest.fixture
def team(owner):
    """alice's own team (she is its admin) with dana as a plain member."""
    team = Team.objects.get(memberships__user=owner)
    return team


@pytest.fixture
def dana(django_user_model, team):
    user = django_user_model.objects.create_user("dana", "dana@example.com", "pw-dana-1")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    return user


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def connected_by_alice(sandbox, owner):
    assert connect(signed_in(owner), sandbox, owner).status_code == 302
    return Integration.objects.get(provider="sandbox")


def test_it_lets_two_members_use_one_connection(sandbox, owner, dana, team):
    integration = connected_by_alice(sandbox, owner)
    assert (integration.owner, integration.connected_by) == (team, owner)
    as_dana = signed_in(dana)
    assert f'data-integration="{integration.pk}"' in page_text(as_dana.get("/integrations/"))
    done = as_dana.post(f"/integrations/gbp/{integration.pk}/sync/", follow=True)
    assert "Sync finished." in page_text(done)
    assert GbpLocation.objects.filter(integration=integration).exists()


def test_it_gives_another_teams_member_a_404_on_every_url(sandbox, owner, other):
    integration = connected_by_alice(sandbox, owner)
    as_bob = signed_in(other)
    pk = integration.pk
    for method, url in [("get", f"/integrations/gbp/{pk}/"),
                        ("get", f"/integrations/gbp/{pk}/sync/status/"),
                        ("post", f"/integrations/gbp/{pk}/sync/"),
                        ("get", f"/integrations/connect/sandbox/?integration={pk}"),
                        ("post", f"/integrations/{pk}/disconnect/"),
                        ("post", f"/integrations/{pk}/remove/")]:
        assert getattr(as_bob, method)(url).status_code == 404, url
    assert f'data-integration="{pk}"' not in page_text(as_bob.get("/integrations/"))


def test_it_lets_only_the_teams_admins_disconnect(sandbox, owner, dana):
    integration = connected_by_alice(sandbox, owner)
    as_dana = signed_in(dana)
    assert f"/integrations/{integration.pk}/disconnect/" not in page_text(
        as_dana.get("/integrations/"))
    assert as_dana.post(f"/integrations/{integration.pk}/disconnect/").status_code == 403
    assert signed_in(owner).post(f"/integrations/{integration.pk}/disconnect/").status_code == 302


def test_it_keeps_the_teams_connection_when_its_connector_is_deleted(sandbox, owner, dana):
    integration = connected_by_alice(sandbox, owner)
    signed_in(dana).post(f"/integrations/gbp/{integration.pk}/sync/")
    owner.delete()
    integration.refresh_from_db()
    assert integration.connected_by is None and integration.status == "active"
    assert OAuthCredential.objects.get(integration=integration).refresh_token
    assert GbpLocation.objects.filter(integration=integration).exists()
    assert f'data-integration="{integration.pk}"' in page_text(signed_in(dana).get(
        "/integrations/"))


def test_it_tells_the_connector_while_in_the_team_then_the_teams_admins(
        db, owner, dana, team, make_integration, django_capture_on_commit_callbacks):
    told = []
    signals.reauth_required.connect(handler := lambda **kw: told.append(kw), weak=False)
    try:
        first = make_integration(dana, "sandbox", owner=team)
        with django_capture_on_commit_callbacks(execute=True):
            tokens.mark_reauth_required(first, "invalid_grant", "gone")
        Membership.objects.filter(user=dana).delete()  # dana leaves the team
        second = make_integration(dana, "sandbox", owner=team)
        with django_capture_on_commit_callbacks(execute=True):
            tokens.mark_reauth_required(second, "invalid_grant", "gone")
    finally:
        signals.reauth_required.disconnect(handler)
    assert [m.to for m in mail.outbox] == [["dana@example.com"], ["alice@example.com"]]
    assert [kw["owner"] for kw in told] == [team, team]


def test_it_switches_between_the_teams_a_user_is_in(sandbox, owner, other):
    bobs_team = Team.objects.get(memberships__user=other)
    Membership.objects.create(team=bobs_team, user=owner, role=Membership.Role.MEMBER)
    client = signed_in(owner)
    page = page_text(client.get("/integrations/"))
    assert "alice&#x27;s team" in page and "bob&#x27;s team" in page  # the switcher
    assert client.post("/integrations/owner/", {"owner": bobs_team.pk}).status_code == 302
    assert connect(client, sandbox, owner).status_code == 302
    integration = Integration.objects.get(provider="sandbox")
    assert (integration.owner, integration.connected_by) == (bobs_team, owner)
    stranger = Team.objects.create(name="Strangers")
    assert client.post("/integrations/owner/", {"owner": stranger.pk}).status_code == 404


def test_it_carries_the_owner_and_the_acting_user_in_its_signals(sandbox, owner, team):
    seen = []
    on_connect = lambda **kw: seen.append(("connected", kw["owner"], kw["user"]))  # noqa: E731
    on_disconnect = lambda **kw: seen.append(("disconnected", kw["owner"], kw["user"]))  # noqa: E731
    signals.integration_connected.connect(on_connect, weak=False)
    signals.integration_disconnected.connect(on_disconnect, weak=False)
    try:
        integration = connected_by_alice(sandbox, owner)
        signed_in(owner).post(f"/integrations/{integration.pk}/disconnect/")
    finally:
        signals.integration_connected.disconnect(on_connect)
        signals.integration_disconnected.disconnect(on_disconnect)
    assert seen == [("connected", team, owner), ("disconnected", team, owner)]


def test_it_asks_the_teams_once_for_a_page_of_many_connections(
        db, owner, dana, team, make_integration, django_assert_max_num_queries):
    for _ in range(20):
        make_integration(dana, "sandbox", owner=team)
    client = signed_in(dana)
    client.get("/integrations/")  # the session, warmed
    with django_assert_max_num_queries(12):  # the same for 2 or 200 cards
        page = client.get("/integrations/")
    assert page_text(page).count("data-integration=") == 20
