"""A database made before owners migrates with every row kept: each integration goes to its
user's owner (here, the demo's: the user's own team, INTEGRATIONS_OWNER_FROM_USER) and keeps its
credential, history, notices and synced data; the user stays as `connected_by`."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import Team
from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
from integrations.models import Integration, IntegrationEvent, Notice, OAuthCredential

BEFORE_OWNERS = [("integrations", "0008_faults"), ("gbp", "0002_sync_state_and_review_sync")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_row_when_integrations_become_owned():
    old = migrate(BEFORE_OWNERS)
    user = get_user_model().objects.create_user("old", "old@example.com", "pw")
    Integration_ = old.get_model("integrations", "Integration")
    integration = Integration_.objects.create(user_id=user.pk, provider="sandbox",
                                              external_id="acct-old", display_name="old@x.test")
    old.get_model("integrations", "OAuthCredential").objects.create(
        integration=integration, access_token="old-access-token-SECRET",
        refresh_token="old-refresh-token-SECRET",
        expires_at=timezone.now() + timedelta(hours=1), scopes=["openid"])
    Event = old.get_model("integrations", "IntegrationEvent")
    for kind in ("connected", "refresh", "sync"):
        Event.objects.create(integration=integration, kind=kind, outcome="ok")
    old.get_model("integrations", "Notice").objects.create(integration=integration,
                                                          kind="reauth_required")
    account = old.get_model("gbp", "GbpAccount").objects.create(
        integration=integration, name="accounts/1", account_name="Old Bakery")
    location = old.get_model("gbp", "GbpLocation").objects.create(
        integration=integration, account=account, name="locations/2", title="Old Street")
    old.get_model("gbp", "GbpDailyMetric").objects.create(
        location=location, metric="CALL_CLICKS", date=date(2026, 11, 1), value=7)
    old.get_model("gbp", "GbpReview").objects.create(
        location=location, review_id="r-1", reviewer_name="Ann", star_rating=5, comment="Hi")

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = Integration.objects.get(pk=integration.pk)
    assert moved.owner == Team.objects.get(memberships__user=user)
    assert moved.connected_by == user
    cred = OAuthCredential.objects.get(integration=moved)
    assert (cred.access_token, cred.refresh_token) == ("old-access-token-SECRET",
                                                      "old-refresh-token-SECRET")
    assert IntegrationEvent.objects.filter(integration=moved).count() == 3
    assert Notice.objects.filter(integration=moved).count() == 1
    assert GbpAccount.objects.get(integration=moved).account_name == "Old Bakery"
    assert GbpLocation.objects.get(integration=moved).title == "Old Street"
    assert GbpDailyMetric.objects.get().value == 7 and GbpReview.objects.get().comment == "Hi"


@pytest.mark.django_db(transaction=True)
def test_it_lets_the_team_model_app_add_migrations_after_it():
    """0009 depends on the migration that creates the team model, not on its app's latest: a
    database that applied 0009 takes a later migration of the team's app (accounts 0003, the
    user's language) without Django refusing its history."""
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0002_teams")])  # as before accounts 0003 existed
    loader = MigrationExecutor(connection).loader
    assert ("integrations", "0009_owners") in loader.applied_migrations
    assert ("accounts", "0003_user_language") not in loader.applied_migrations
    loader.check_consistent_history(connection)  # raises InconsistentMigrationHistory if not
    migrate(loader.graph.leaf_nodes())
