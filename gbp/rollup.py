"""The daily totals the overview reads (GbpDailyTotal): each location's headline series per day,
written with the daily metrics they add up.

The sync calls `rebuild` for the locations and days whose metrics it changed, after writing them;
it is also the repair for rows written by hand.
"""

from django.db import connection, transaction

from .models import GbpDailyMetric, GbpDailyTotal
from .overview import SERIES

FIELDS = tuple(SERIES)
IDS_PER_STATEMENT = 500


def rebuild(location_ids, start=None) -> int:
    """Recompute the totals of these locations (from `start` on) from their stored metrics;
    returns the rows written. One INSERT ... SELECT ... GROUP BY ... ON CONFLICT per 500
    locations: the database adds up, not Python (a first sync's 630 values a location were
    ~1 ms of the sync's interpreter each, which its fetching threads share)."""
    location_ids = list(location_ids)
    written = 0
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for i in range(0, len(location_ids), IDS_PER_STATEMENT):
            ids = location_ids[i:i + IDS_PER_STATEMENT]
            sql, params = _sql(len(ids), start is not None)
            if start is not None:
                ids = [*ids, connection.ops.adapt_datefield_value(start)]
            cursor.execute(sql, [*params, *ids])
            written += max(cursor.rowcount, 0)
    return written


def _sql(count, since):
    q = connection.ops.quote_name
    metric, total = GbpDailyMetric._meta, GbpDailyTotal._meta
    location, date = (q(metric.get_field(name).column) for name in ("location", "date"))
    value, name = q(metric.get_field("value").column), q(metric.get_field("metric").column)
    sums, params = [], []
    for _label, names in SERIES.values():
        sums.append(f"SUM(CASE WHEN {name} IN ({', '.join(['%s'] * len(names))}) "
                    f"THEN {value} ELSE 0 END)")
        params += names
    columns = ", ".join(q(total.get_field(f).column) for f in FIELDS)
    keys = f"{q(total.get_field('location').column)}, {q(total.get_field('date').column)}"
    where = f"{location} IN ({', '.join(['%s'] * count)})" + (f" AND {date} >= %s" if since
                                                                else "")
    return (f"INSERT INTO {q(total.db_table)} ({keys}, {columns}) "
            f"SELECT {location}, {date}, {', '.join(sums)} FROM {q(metric.db_table)} "
            f"WHERE {where} GROUP BY {location}, {date} "
            f"ON CONFLICT ({keys}) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in (q(total.get_field(f).column)
                                                         for f in FIELDS))), params
