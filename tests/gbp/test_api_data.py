"""The synced Business Profile data through the API (gbp/api.py): accounts, locations with their
daily metrics over a date range, reviews by location, a page at a time."""

from datetime import timedelta

import pytest

from gbp.models import GbpDailyMetric, GbpLocation, GbpReview
from gbp.sync import GbpSyncService
from integrations import http
from tests.conftest import create_integration
from tests.helpers import api_call


@pytest.fixture
def synced(connected, settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)
    assert GbpSyncService().sync(connected).ok
    return connected


def test_it_lists_the_accounts(synced, client):
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/accounts")
    assert status == 200 and page["count"] == len(page["items"]) >= 1
    assert page["items"][0]["name"].startswith("accounts/")


def test_it_lists_locations_with_their_daily_metrics(synced, client):
    last = GbpDailyMetric.objects.order_by("-date").values_list("date", flat=True).first()
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/locations?page_size=4")
    assert status == 200 and page["count"] == 9 and len(page["items"]) == 4
    assert page["end"] == last.isoformat()
    assert page["start"] == (last - timedelta(days=29)).isoformat()
    location = page["items"][0]
    stored = GbpLocation.objects.get(pk=location["id"])
    assert location["title"] == stored.title and location["name"] == stored.name
    calls = location["metrics"]["CALL_CLICKS"]
    assert [c["date"] for c in calls] == sorted(c["date"] for c in calls) and len(calls) == 7
    assert sum(c["value"] for c in calls) == sum(GbpDailyMetric.objects.filter(
        location=stored, metric="CALL_CLICKS").values_list("value", flat=True))

    day = last.isoformat()
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/locations"
                                           f"?start={day}&end={day}")
    assert status == 200 and (page["start"], page["end"]) == (day, day)
    assert all(len(series) == 1 for loc in page["items"] for series in loc["metrics"].values())


def test_it_refuses_a_backwards_or_too_long_range(synced, client):
    path = f"integrations/{synced.pk}/gbp/locations"
    status, error = api_call(client, "GET", path + "?start=2026-02-01&end=2026-01-01")
    assert (status, error["code"]) == (422, "invalid_range")
    status, error = api_call(client, "GET", path + "?start=2024-01-01&end=2026-01-01")
    assert (status, error["code"]) == (422, "invalid_range")
    assert api_call(client, "GET", path + "?start=yesterday")[0] == 422


def test_it_lists_reviews_by_location(synced, client):
    location = GbpLocation.objects.filter(integration=synced, reviews__isnull=False).first()
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/reviews"
                                           f"?location={location.pk}")
    assert status == 200
    assert page["count"] == GbpReview.objects.filter(location=location).count() >= 1
    assert {r["location"] for r in page["items"]} == {location.pk}
    times = [r["create_time"] for r in page["items"]]
    assert times == sorted(times, reverse=True)
    everything = api_call(client, "GET", f"integrations/{synced.pk}/gbp/reviews")[1]
    assert everything["count"] == GbpReview.objects.filter(location__integration=synced).count()


def test_it_has_no_business_profile_data_for_another_provider(db, client, owner):
    client.force_login(owner)
    gmail = create_integration(owner, "gmail")
    for path in ("gbp/accounts", "gbp/locations", "gbp/reviews", "sync"):
        status, error = api_call(client, "GET", f"integrations/{gmail.pk}/{path}")
        assert (status, error["code"]) == (404, "not_found"), path
