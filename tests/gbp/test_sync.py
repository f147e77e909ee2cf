"""GbpSyncService over real HTTP against the sandbox's Google Business Profile-shaped API."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import http, tokens
from gbp.sync import METRICS, GbpSyncService
from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview, GbpSyncState
from integrations.models import IntegrationEvent
from sandbox import data


@pytest.fixture(autouse=True)
def small_pages(settings, monkeypatch):
    # Small pages, so the sandbox's data spans several pages of every list call.
    settings.GBP_PAGE_SIZES = {"accounts": 2, "locations": 3, "reviews": 10}
    monkeypatch.setattr(http, "wait", lambda s: None)


def expected(owner):
    locations = {}
    for account_id in data.account_ids(owner.username):
        for loc in data.locations(owner.username, account_id):
            locations[loc["name"]] = loc["name"].split("/")[1]
    return locations


def test_it_syncs_accounts_locations_metrics_and_reviews(connected, sandbox, owner):
    result = GbpSyncService().sync(connected)
    assert result.ok, result.message
    locations = expected(owner)
    assert result.accounts == 3 == GbpAccount.objects.count()
    assert result.locations == len(locations) == GbpLocation.objects.count() == 9
    assert (result.end_date - result.start_date).days == 89
    assert result.metric_rows == 90 * len(METRICS) * 9 == GbpDailyMetric.objects.count()
    all_reviews = sum(len(data.reviews(owner.username, lid)) for lid in locations.values())
    assert result.reviews == all_reviews == GbpReview.objects.count()
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok" and connected.last_synced_at
    assert connected.events.filter(kind="sync", outcome="ok").count() == 1


def test_it_stores_exact_metric_sums_and_omitted_zeros(connected, sandbox, owner):
    result = GbpSyncService().sync(connected)
    name, location_id = next(iter(expected(owner).items()))
    location = GbpLocation.objects.get(name=name)
    for metric in METRICS:
        values = data.daily_values(location_id, metric, result.start_date, result.end_date)
        stored = GbpDailyMetric.objects.filter(location=location, metric=metric)
        assert sum(v.value for v in stored) == sum(v for _, v in values)
    zero_days = [d for d, v in data.daily_values(location_id, "CALL_CLICKS", result.start_date,
                                                 result.end_date) if v == 0]
    assert zero_days
    for day in zero_days:
        assert GbpDailyMetric.objects.get(location=location, metric="CALL_CLICKS", date=day).value == 0


def test_it_stores_reviews_with_replies_and_ratings(connected, sandbox, owner):
    GbpSyncService().sync(connected)
    name, location_id = max(expected(owner).items(),
                            key=lambda kv: len(data.reviews(owner.username, kv[1])))
    source = data.reviews(owner.username, location_id)
    location = GbpLocation.objects.get(name=name)
    assert location.total_review_count == len(source) > 10  # more than one page
    first = GbpReview.objects.get(location=location, review_id=source[0]["reviewId"])
    assert first.star_rating == data.STARS.index(source[0]["starRating"]) + 1
    assert first.reply_comment == source[0]["reviewReply"]["comment"]


def test_it_is_a_no_op_the_second_time(connected, sandbox):
    GbpSyncService().sync(connected)
    counts = (GbpLocation.objects.count(), GbpDailyMetric.objects.count(), GbpReview.objects.count())
    again = GbpSyncService().sync(connected)
    assert again.ok
    assert (again.accounts, again.locations, again.metric_rows, again.reviews, again.deleted) == (0, 0, 0, 0, 0)
    assert counts == (GbpLocation.objects.count(), GbpDailyMetric.objects.count(), GbpReview.objects.count())
    # Later syncs fetch only a few days before the last synced date (Google revises them).
    assert (again.end_date - again.start_date).days == 5


def test_it_refreshes_an_expired_token_mid_sync_once(connected, sandbox, owner):
    sandbox.expire_tokens(owner)  # the sandbox says expired; we still think it is valid
    result = GbpSyncService().sync(connected)
    assert result.ok
    assert sandbox.token_requests("refresh_token") == 1


def test_it_ends_with_reauth_required_on_a_revoked_grant(connected, sandbox, owner):
    sandbox.revoke_grant(owner)
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "reauth_required"
    connected.refresh_from_db()
    assert connected.status == "reauth_required"
    assert connected.last_sync_status == "error" and "Reconnect" in connected.last_sync_message


def test_it_tells_the_operator_what_to_do_on_403(connected, sandbox):
    sandbox.inject("locations", "403")
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "permission_denied"
    connected.refresh_from_db()
    assert connected.status == "active"  # not the user's problem
    assert "enable" in connected.last_sync_message and "Google Cloud project" in connected.last_sync_message
    event = connected.events.get(kind="sync", outcome="error")  # admin's history: the code and
    assert event.error_code == "permission_denied" and "enable" in event.message  # the text
    state = GbpSyncState.objects.get(integration=connected)  # the code, for the pages' words
    assert state.last_error_code == "permission_denied" and state.status == "idle"


def test_it_backs_off_on_429_and_completes(connected, sandbox, monkeypatch):
    waits = []
    monkeypatch.setattr(http, "wait", lambda s: (waits.append(s), time.sleep(s)))
    sandbox.inject("metrics", "429", times=2, retry_after=1)
    result = GbpSyncService(concurrency=1).sync(connected)
    # Each 429 pauses the Performance API at the limiter for its Retry-After: the next request
    # waits it out (less the moments that already passed), and the sync completes.
    assert result.ok, result.message
    long_waits = [w for w in waits if w > 0.05]
    assert len(long_waits) == 2 and all(0.8 < w <= 1.0 for w in long_waits), waits
    assert sandbox.calls("metrics") == 9 + 2


def test_it_gives_up_on_a_lasting_503_and_says_so(connected, sandbox):
    before = sandbox.calls("accounts")  # connecting read the account's name once
    sandbox.inject("accounts", "503", times=None)
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "http_503"
    assert sandbox.calls("accounts") - before == 3  # bounded retries
    connected.refresh_from_db()
    assert connected.last_sync_status == "error" and "try again" in connected.last_sync_message


def test_it_deletes_nothing_when_page_two_fails(connected, sandbox, owner):
    GbpSyncService().sync(connected)
    before = (GbpLocation.objects.count(), GbpReview.objects.count(), GbpDailyMetric.objects.count())
    # Page 1 of the first account's locations works, page 2 fails every attempt.
    sandbox.inject("locations", "latency", times=1)
    sandbox.inject("locations", "500", times=3)
    result = GbpSyncService().sync(connected)
    assert not result.ok
    assert (GbpLocation.objects.count(), GbpReview.objects.count(),
            GbpDailyMetric.objects.count()) == before


def test_it_works_on_a_first_syncs_locations_page_by_page(connected, sandbox, settings):
    # A first sync stores each page of locations and starts on it as it arrives:
    # page 1 is synced even though page 2 then fails every attempt (nothing stored could have
    # been removed: there was nothing).
    settings.GBP_PAGE_SIZES = {"locations": 2}
    sandbox.inject("locations", "latency", times=1)
    sandbox.inject("locations", "500", times=3)
    result = GbpSyncService().sync(connected)
    assert not result.ok and result.error_code == "http_500"
    stored = GbpLocation.objects.filter(integration=connected)
    assert stored.count() == 2
    assert all(loc.metrics.exists() for loc in stored)


def test_it_removes_a_location_only_after_a_complete_listing(connected, sandbox, owner, settings):
    GbpSyncService().sync(connected)
    ghost = GbpLocation.objects.first()
    GbpLocation.objects.create(integration=connected, account=ghost.account, name="locations/999",
                               title="Closed shop")
    result = GbpSyncService().sync(connected)
    assert result.ok and not GbpLocation.objects.filter(name="locations/999").exists()


def test_it_syncs_a_location_the_resync_listing_adds(connected, sandbox, owner):
    # A resync works on the stored locations while it lists them: one listed that was not
    # stored (removed here, as if Google had added it since) is synced in the same run.
    GbpSyncService().sync(connected)
    added = GbpLocation.objects.order_by("pk").last()
    added.delete()
    result = GbpSyncService().sync(connected)
    assert result.ok, result.message
    again = GbpLocation.objects.get(integration=connected, name=added.name)
    assert again.metrics.exists() and again.reviews.count() == len(
        data.reviews(owner.username, added.name.split("/")[1]))
    assert result.locations_total == len(expected(owner))


def test_it_records_the_date_range_for_the_backfill(connected, sandbox, settings):
    settings.GBP_BACKFILL_DAYS = 30
    result = GbpSyncService().sync(connected)
    assert result.end_date == timezone.now().date() - timedelta(days=1)
    assert (result.end_date - result.start_date).days == 29
    assert IntegrationEvent.objects.filter(kind="sync").count() == 1
