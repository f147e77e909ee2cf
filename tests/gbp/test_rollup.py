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
