"""An existing database, whose GBP rows live in the integrations app's tables, migrates to the
gbp app with nothing lost."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
from integrations.models import Integration

BEFORE_THE_MOVE = [("integrations", "0003_gbp_data")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def tables():
    return set(connection.introspection.table_names())


def seed_old_schema(apps):
    """Rows written through the models as they were before the move (app label integrations)."""
    user = get_user_model().objects.create(username="old", email="o@x.test")
    integration = apps.get_model("integrations", "Integration").objects.create(
        user_id=user.pk, provider="google_business_profile", external_id="acct-old",
        display_name="old@example.com")
    account = apps.get_model("integrations", "GbpAccount").objects.create(
        integration=integration, name="accounts/1", account_name="Old Bakery")
    location = apps.get_model("integrations", "GbpLocation").objects.create(
        integration=integration, account=account, name="locations/2", title="Old Street")
    apps.get_model("integrations", "GbpDailyMetric").objects.create(
        location=location, metric="CALL_CLICKS", date=date(2026, 11, 1), value=7)
    apps.get_model("integrations", "GbpReview").objects.create(
        location=location, review_id="r-1", reviewer_name="Ann", star_rating=5, comment="Lovely")
    interval = IntervalSchedule.objects.create(every=1, period="days")
    PeriodicTask.objects.create(name="GBP daily (edited by an operator)", interval=interval,
                        task="integrations.tasks.sync_all")
    return integration.pk


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_gbp_row_when_an_old_database_migrates():
    old_apps = migrate(BEFORE_THE_MOVE)
    assert {"integrations_gbpaccount", "integrations_gbpreview"} <= tables()
    assert "gbp_gbpaccount" not in tables()
    integration_id = seed_old_schema(old_apps)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert not {t for t in tables() if t.startswith("integrations_gbp")}
    integration = Integration.objects.get(pk=integration_id)
    account = GbpAccount.objects.get(integration=integration)
    assert account.account_name == "Old Bakery"
    location = GbpLocation.objects.get(account=account)
    assert location.title == "Old Street"
    assert GbpDailyMetric.objects.get(location=location).value == 7
    assert GbpReview.objects.get(location=location).comment == "Lovely"
    assert PeriodicTask.objects.get(name__startswith="GBP daily").task == "gbp.tasks.sync_all"
    # The cascade still runs from the core's row to the moved ones.
    integration.delete()
    assert not GbpReview.objects.exists() and not GbpLocation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_gives_a_new_database_the_gbp_apps_own_tables():
    assert {"gbp_gbpaccount", "gbp_gbplocation", "gbp_gbpdailymetric", "gbp_gbpreview"} <= tables()
    assert not {t for t in tables() if t.startswith("integrations_gbp")}
