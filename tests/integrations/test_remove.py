"""Removing a disconnected integration, with its history and the data synced from it."""

from datetime import date

import pytest

from integrations.models import Integration, IntegrationEvent, OAuthCredential
from tests.helpers import page_text


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_it_removes_a_disconnected_integration_and_its_history(db, logged_in, owner,
                                                               make_integration):
    integration = make_integration(owner, "sandbox", status="disconnected")
    IntegrationEvent.objects.record(integration.pk, "disconnected")
    r = logged_in.post(f"/integrations/{integration.pk}/remove/")
    assert r.status_code == 302 and r["Location"] == "/integrations/"
    assert not Integration.objects.exists()
    assert not OAuthCredential.objects.exists() and not IntegrationEvent.objects.exists()
    assert "and the data synced from it" in page_text(logged_in.get("/integrations/"))


def test_it_removes_the_synced_business_profile_data(db, logged_in, owner, make_integration):
    from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview

    integration = make_integration(owner, "sandbox", status="disconnected")
    account = GbpAccount.objects.create(integration=integration, name="accounts/1")
    location = GbpLocation.objects.create(integration=integration, account=account,
                                          name="locations/2", title="Bakery")
    GbpDailyMetric.objects.create(location=location, metric="CALL_CLICKS", date=date.today(),
                                  value=3)
    GbpReview.objects.create(location=location, review_id="r1", star_rating=5)
    logged_in.post(f"/integrations/{integration.pk}/remove/")
    for model in (GbpAccount, GbpLocation, GbpDailyMetric, GbpReview):
        assert not model.objects.exists()


@pytest.mark.parametrize("status", ["active", "reauth_required"])
def test_it_asks_to_disconnect_first(db, logged_in, owner, make_integration, status):
    integration = make_integration(owner, "sandbox", status=status)
    r = logged_in.post(f"/integrations/{integration.pk}/remove/", follow=True)
    assert "before removing it" in page_text(r)
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_it_404s_someone_elses_integration(db, logged_in, other, make_integration):
    theirs = make_integration(other, "sandbox", status="disconnected")
    assert logged_in.post(f"/integrations/{theirs.pk}/remove/").status_code == 404
    assert Integration.objects.filter(pk=theirs.pk).exists()


def test_it_removes_only_on_post(db, logged_in, owner, make_integration):
    integration = make_integration(owner, "sandbox", status="disconnected")
    assert logged_in.get(f"/integrations/{integration.pk}/remove/").status_code == 405
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_it_requires_login(db, client, owner, make_integration):
    integration = make_integration(owner, "sandbox", status="disconnected")
    r = client.post(f"/integrations/{integration.pk}/remove/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert Integration.objects.filter(pk=integration.pk).exists()


def test_it_requires_a_csrf_token(db, owner, make_integration):
    from django.test import Client

    integration = make_integration(owner, "sandbox", status="disconnected")
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(f"/integrations/{integration.pk}/remove/").status_code == 403
    assert Integration.objects.filter(pk=integration.pk).exists()
