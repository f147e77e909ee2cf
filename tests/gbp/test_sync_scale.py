"""The sync at scale: one at a time, bulk writes, fewer review calls, the quota, bad data."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gbp import state as sync_state
from gbp.conf import settings as gbp_settings
from gbp.models import GbpDailyMetric, GbpLocation, GbpReview, GbpSyncState
from gbp.sync import METRICS, GbpSyncService
from integrations import http
from integrations.models import Integration
from sandbox import data
from sandbox.quota import window
from tests.helpers import connect, page_text

DATA_TABLES = ("gbp_gbpaccount", "gbp_gbplocation", "gbp_gbpdailymetric", "gbp_gbpreview")


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)


@pytest.fixture
def agency(sandbox, django_user_model):
    """An integration of a sandbox user with the large-account fixture: agency-<N>x<R>."""

    def make(name):
        user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
        client = Client()
        client.force_login(user)
        assert connect(client, sandbox, user).status_code == 302
        return Integration.objects.get(connected_by=user)

    return make


def writes(queries):
    """INSERT/UPDATE/DELETE statements on the synced data's tables."""
    return [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
            and any(f'"{t}"' in q["sql"] for t in DATA_TABLES)]


# --- one sync per integration at a time ------------------------------------------------------------
def test_it_does_not_run_a_second_sync_of_one_integration_at_once(connected, sandbox):
    sandbox.inject("metrics", "latency", times=None, latency_ms=300)
    first = {}
    thread = threading.Thread(target=lambda: first.update(
        result=GbpSyncService(concurrency=1).sync(connected)))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while GbpSyncState.objects.filter(integration=connected, status="running").count() == 0:
            assert time.monotonic() < deadline, "the first sync never started"
            time.sleep(0.05)
        second = GbpSyncService().sync(connected)
        assert second.skipped and not second.ok and second.error_code == "already_running"
    finally:
        sandbox.clear()
        thread.join(60)
    assert first["result"].ok
    assert sandbox.calls("accounts") == 2  # the connect-time label and the first sync only
    assert connected.events.filter(kind="sync").count() == 1  # one sync recorded, not two


def test_it_runs_again_once_a_killed_holders_lease_has_lapsed(connected, sandbox):
    sync_state.get(connected.pk)
    GbpSyncState.objects.filter(integration=connected).update(
        status="running", lease_owner="killed-worker",
        lease_until=timezone.now() + timedelta(minutes=5))
    assert GbpSyncService().sync(connected).skipped
    GbpSyncState.objects.filter(integration=connected).update(
        lease_until=timezone.now() - timedelta(seconds=1))
    result = GbpSyncService().sync(connected)
    assert result.ok and not result.skipped
    assert GbpSyncState.objects.get(integration=connected).status == "idle"


# --- bulk writes ---------------------------------------------------------------------------------
def test_it_writes_zero_rows_the_second_time(connected, sandbox):
    GbpSyncService().sync(connected)
    with CaptureQueriesContext(connection) as queries:
        again = GbpSyncService(concurrency=1).sync(connected)
    assert again.ok, again.message
    assert (again.accounts, again.locations, again.metric_rows, again.reviews, again.deleted) == (
        0, 0, 0, 0, 0)
    assert writes(queries.captured_queries) == []


def test_it_writes_a_bounded_number_of_statements_whatever_the_review_count(agency):
    few, many = agency("agency-20x2"), agency("agency-20x60")
    counts = {}
    for integration in (few, many):
        with CaptureQueriesContext(connection) as queries:
            result = GbpSyncService(concurrency=1).sync(integration)
        assert result.ok, result.message
        # The token service reads the credential once per API call (a call per page of 50
        # reviews): counted apart, like the transaction brackets.
        counts[integration.pk] = len([q for q in queries.captured_queries
                                      if "oauthcredential" not in q["sql"]
                                      and q["sql"] not in ("BEGIN IMMEDIATE", "COMMIT", "BEGIN")])
    assert GbpReview.objects.filter(location__integration=many).count() == 20 * 60
    # 30 times the reviews (1,160 more): a few more multi-row INSERTs (SQLite takes 111 reviews
    # a statement, PostgreSQL 500), never a statement per review or per location.
    assert counts[many.pk] - counts[few.pk] <= 1160 // 100, counts
    assert counts[few.pk] / 20 < 1.5, counts  # statements per location


# --- reviews: incremental, full listing weekly --------------------------------------------------------
def test_it_reads_reviews_incrementally_the_second_time(agency):
    integration = agency("agency-60x20")  # 1,200 reviews, 24 pages of 50 in two groups of 50/10
    GbpSyncService().sync(integration)
    before = data_calls = _calls("reviews")
    again = GbpSyncService().sync(integration)
    assert again.ok
    # One page per group of locations: the first review on it is already stored unchanged.
    assert _calls("reviews") - before == 2
    assert data_calls >= 24


def test_it_picks_up_a_new_review_between_full_listings(connected, sandbox, owner):
    GbpSyncService().sync(connected)
    newest = GbpReview.objects.order_by("-update_time").first()
    newest.delete()  # as if Google had it and we did not yet
    again = GbpSyncService().sync(connected)
    assert again.ok and again.reviews == 1
    assert GbpReview.objects.filter(review_id=newest.review_id).exists()


def test_it_removes_deleted_reviews_only_after_a_full_listing(connected, sandbox):
    GbpSyncService().sync(connected)
    location = GbpLocation.objects.filter(total_review_count__gt=0).first()
    GbpReview.objects.create(location=location, review_id="deleted-at-google", star_rating=1,
                             update_time=timezone.now() - timedelta(days=400))
    GbpSyncService().sync(connected)  # incremental: cannot know it is gone
    assert GbpReview.objects.filter(review_id="deleted-at-google").exists()
    GbpLocation.objects.update(reviews_full_synced_at=timezone.now() - timedelta(
        days=gbp_settings.GBP_FULL_REVIEW_SYNC_DAYS, minutes=1))
    result = GbpSyncService().sync(connected)
    assert result.ok and result.deleted == 1
    assert not GbpReview.objects.filter(review_id="deleted-at-google").exists()
    location.refresh_from_db()
    assert location.reviews_full_synced_at > timezone.now() - timedelta(minutes=1)


def test_it_deletes_no_review_when_a_full_listing_fails(connected, sandbox):
    GbpSyncService().sync(connected)
    before = GbpReview.objects.count()
    GbpLocation.objects.update(reviews_full_synced_at=None)
    sandbox.inject("reviews", "latency", times=1)  # page 1 of the first group works,
    sandbox.inject("reviews", "500", times=None)  # every later reviews call fails
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "http_500"
    assert GbpReview.objects.count() == before


# --- the quota --------------------------------------------------------------------------------
def test_it_pauses_on_an_exhausted_quota_and_resumes_where_it_stopped(connected, sandbox,
                                                                      settings, client):
    settings.SANDBOX_GBP_QUOTA_PER_MINUTE = 5  # the sixth metrics call in a minute gets a 429
    settings.GBP_QUOTA_RETRIES = 1
    first = GbpSyncService(concurrency=1).sync(connected)
    assert first.deferred and first.error_code == "rate_limited" and not first.ok
    connected.refresh_from_db()
    assert connected.last_sync_status == "never"  # paused, not failed
    state = GbpSyncState.objects.get(integration=connected)
    assert state.status == "paused" and len(state.done_locations) == 5 and state.resume_at
    assert "Paused for Google&#x27;s quota after 5 of 9 locations" in page_text(
        client.get(f"/integrations/gbp/{connected.pk}/"))

    window.reset()  # a minute later
    metrics_calls = _calls("metrics")
    result = GbpSyncService(concurrency=1).sync(connected)
    assert result.ok, result.message
    assert _calls("metrics") - metrics_calls == 4  # only the locations not done before
    assert GbpDailyMetric.objects.count() == 9 * len(METRICS) * 7


# --- provider data of the wrong type or size -----------------------------------------------------
def test_it_fails_only_the_item_google_sent_in_the_wrong_shape(connected, sandbox, client):
    good = {"name": "locations/111", "title": "Good shop"}
    long_title = {"name": "locations/222", "title": "T" * 1000}
    locations = [good, long_title, {"name": "locations/333", "title": {"text": "an object"}},
                 {"name": "locations/" + "9" * 400, "title": "Huge id"}, ["not", "an", "object"]]
    sandbox.inject("locations", "status", status=200, body=json.dumps({"locations": locations}))
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "bad_data"
    assert "location locations/333: title is not text" in result.message
    assert "malformed name" in result.message and "is not an object" in result.message
    assert GbpLocation.objects.get(name="locations/111").title == "Good shop"
    assert len(GbpLocation.objects.get(name="locations/222").title) == 255
    assert not GbpLocation.objects.filter(name="locations/333").exists()
    connected.refresh_from_db()
    assert connected.last_sync_status == "error" and "title is not text" in connected.last_sync_message
    assert client.get(f"/integrations/gbp/{connected.pk}/").status_code == 200


def test_it_fails_one_locations_metrics_on_a_bad_value(connected, sandbox):
    bad = {"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
        {"dailyMetric": "CALL_CLICKS", "timeSeries": {"datedValues": [
            {"date": {"year": 2026, "month": 13, "day": 1}, "value": {"n": 1}}]}}]}]}
    sandbox.inject("metrics", "status", status=200, body=json.dumps(bad))
    result = GbpSyncService(concurrency=1).sync(connected)
    assert not result.ok and result.error_code == "bad_data"
    assert "metrics: a CALL_CLICKS date is not a valid date" in result.message
    assert GbpDailyMetric.objects.values("location").distinct().count() == 8  # the other eight


def test_it_keeps_reviews_when_one_in_a_full_listing_is_malformed(connected, sandbox, owner):
    GbpSyncService().sync(connected)
    before = GbpReview.objects.count()
    GbpLocation.objects.update(reviews_full_synced_at=None)
    account = data.accounts(owner.username)[0]["name"]  # the first reviews call: its group
    location = data.locations(owner.username, account.split("/")[1])[0]["name"]
    page = {"locationReviews": [{"name": f"{account}/{location}", "review": {
        "reviewId": "r1", "starRating": {"x": 1}, "comment": ["a", "list"]}}]}
    sandbox.inject("reviews", "status", status=200, body=json.dumps(page))
    result = GbpSyncService(concurrency=1).sync(connected)
    assert not result.ok and "review r1: comment is not text" in result.message
    assert GbpReview.objects.count() == before  # nothing deleted on an unclean listing


def _calls(endpoint):
    from sandbox import ops

    return ops.calls(endpoint)
