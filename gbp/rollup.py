"""The daily totals the overview reads (GbpDailyTotal): each location's headline series per day,
written with the daily metrics they add up.

The sync calls `write` with what it fetched (every metric of every day it asked for, so the
totals are computed from the answer, without reading back); `rebuild` recomputes them from the
stored metrics (the migration that created the table, and a repair for rows written by hand).
"""

from collections import defaultdict

from django.db.models import Q, Sum

from .bulk import upsert_rows
from .models import GbpDailyMetric, GbpDailyTotal
from .overview import SERIES

FIELDS = tuple(SERIES)
METRIC_FIELD = {metric: key for key, (_label, names) in SERIES.items() for metric in names}


def totals(rows: dict) -> dict:
    """{(metric, day): value} of one location -> {day: {field: total}}."""
    days = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for (metric, day), value in rows.items():
        key = METRIC_FIELD.get(metric)
        if key:
            days[day][key] += value
        else:
            days[day]  # a day with only other metrics still has its (zero) totals
    return days


def write(fetched: dict, days=None) -> int:
    """Upsert the totals of {location id: {(metric, day): value}} (only the (location id, day)
    pairs in `days`, when given); returns rows written."""
    rows = [(location_id, day, *(values[key] for key in FIELDS))
            for location_id, fetched_rows in fetched.items()
            for day, values in totals(fetched_rows).items()
            if days is None or (location_id, day) in days]
    if rows:
        upsert_rows(GbpDailyTotal, ["location", "date", *FIELDS], rows,
                    unique=["location", "date"], update=list(FIELDS))
    return len(rows)


def rebuild(location_ids, start=None) -> int:
    """Recompute the totals of these locations (from `start` on) from their stored metrics."""
    metrics = GbpDailyMetric.objects.filter(location_id__in=location_ids)
    if start:
        metrics = metrics.filter(date__gte=start)
    grouped = metrics.values("location_id", "date").annotate(**{
        key: Sum("value", filter=Q(metric__in=names)) for key, (_l, names) in SERIES.items()})
    objects = [GbpDailyTotal(location_id=row["location_id"], date=row["date"],
                             **{key: row[key] or 0 for key in FIELDS}) for row in grouped]
    GbpDailyTotal.objects.bulk_create(
        objects, batch_size=1000, update_conflicts=True, unique_fields=["location", "date"],
        update_fields=list(FIELDS))
    return len(objects)
