"""The daily totals the overview reads are written by the sync with the metrics they add up."""

from django.db.models import Sum

from gbp import rollup
from gbp.models import GbpDailyMetric, GbpDailyTotal
from gbp.sync import GbpSyncService


def test_it_writes_the_daily_totals_with_the_metrics(connected, sandbox, settings):
    settings.GBP_BACKFILL_DAYS = 5
    assert GbpSyncService().sync(connected).ok
    metrics = GbpDailyMetric.objects.filter(location__integration=connected)
    totals = GbpDailyTotal.objects.filter(location__integration=connected)
    assert totals.count() == metrics.values("location_id", "date").distinct().count()
    calls = metrics.filter(metric="CALL_CLICKS").aggregate(n=Sum("value"))["n"]
    impressions = metrics.filter(metric__startswith="BUSINESS_IMPRESSIONS").aggregate(
        n=Sum("value"))["n"]
    assert totals.aggregate(n=Sum("calls"))["n"] == calls
    assert totals.aggregate(n=Sum("impressions"))["n"] == impressions


def test_it_rebuilds_what_was_written_by_hand(connected, sandbox, settings):
    settings.GBP_BACKFILL_DAYS = 2
    assert GbpSyncService().sync(connected).ok
    GbpDailyTotal.objects.all().delete()
    ids = list(connected.gbp_locations.values_list("pk", flat=True))
    assert rollup.rebuild(ids) == GbpDailyMetric.objects.filter(
        location_id__in=ids).values("location_id", "date").distinct().count()


def test_it_stores_a_locations_values_and_their_totals_together_or_neither(
        connected, sandbox, settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 3

    def fails(*args, **kwargs):
        raise RuntimeError("the totals' write failed")

    monkeypatch.setattr(rollup, "write", fails)
    GbpSyncService().sync(connected)
    # (A value stored without its totals would look unchanged to the next sync, which would
    # then never write them.)
    assert not GbpDailyMetric.objects.filter(location__integration=connected).exists()
    monkeypatch.undo()
    assert GbpSyncService().sync(connected).ok
    assert GbpDailyTotal.objects.filter(location__integration=connected).exists()
