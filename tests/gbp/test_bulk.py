"""gbp.bulk.upsert_rows: the bulk writes of the sync, on SQLite and PostgreSQL (COPY)."""

from datetime import date, timedelta

from gbp.bulk import COPY_MIN_ROWS, upsert_rows
from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation


def rows(location, value, n=COPY_MIN_ROWS + 10):  # enough for PostgreSQL's COPY
    start = date(2026, 1, 1)
    return [(location.pk, f"METRIC_{i % 10}", start + timedelta(days=i // 10), value)
            for i in range(n)]


def write(values, new):
    upsert_rows(GbpDailyMetric, ["location", "metric", "date", "value"], values,
                unique=["location", "metric", "date"], update=["value"], new=new)


def test_it_writes_new_rows_and_updates_existing_ones_even_when_told_they_are_new(connected):
    account = GbpAccount.objects.create(integration=connected, name="accounts/1")
    location = GbpLocation.objects.create(integration=connected, account=account,
                                          name="locations/1", title="One")
    write(rows(location, 1), new=True)
    stored = GbpDailyMetric.objects.filter(location=location)
    assert stored.count() == COPY_MIN_ROWS + 10
    # Written meanwhile by someone else: the caller's "new" is wrong, the upsert still runs.
    write(rows(location, 2), new=True)
    assert stored.count() == COPY_MIN_ROWS + 10
    assert set(stored.values_list("value", flat=True)) == {2}
