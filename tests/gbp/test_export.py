"""CSV exports: the locations table and the daily metrics, streamed."""

import csv
import io
from datetime import date

import pytest

from tests.helpers import gbp_locations

END = date(2026, 11, 30)


@pytest.fixture
def integration(client, owner, make_integration):
    client.force_login(owner)
    return make_integration(owner, "sandbox")


def rows_of(response):
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_exports_the_locations_table(client, integration):
    gbp_locations(integration, ["Bakery #12", "Bakery #2"], end=END, days=7)
    rows = rows_of(client.get(f"/integrations/gbp/{integration.pk}/locations.csv?period=7"))
    assert rows[0][:4] == ["Location", "Address", "From", "To"]
    assert [row[0] for row in rows[1:]] == ["Bakery #2", "Bakery #12"]
    assert rows[1][2:5] == ["2026-11-24", "2026-11-30", "28"]


def test_it_exports_the_table_as_searched_and_sorted(client, integration):
    gbp_locations(integration, ["Riverton", "Lakeside", "Riverside"], end=END, days=1)
    rows = rows_of(client.get(f"/integrations/gbp/{integration.pk}/locations.csv"
                              "?q=river&sort=-name"))
    assert [row[0] for row in rows[1:]] == ["Riverton", "Riverside"]


def test_it_exports_a_locations_daily_metrics(client, integration):
    location, = gbp_locations(integration, ["Bakery"], end=END, days=90,
                              value=lambda n, metric, day: day.day)
    rows = rows_of(client.get(f"/integrations/gbp/{integration.pk}/locations/{location.pk}/"
                              "daily.csv?period=90"))
    assert len(rows) == 1 + 90
    assert rows[0][:2] == ["Location", "Date"] and "CALL_CLICKS" in rows[0]
    assert rows[-1][:3] == ["Bakery", "2026-11-30", "30"]


def test_it_exports_every_locations_daily_metrics(client, integration):
    gbp_locations(integration, [f"Shop {n}" for n in range(5)], end=END, days=7)
    rows = rows_of(client.get(f"/integrations/gbp/{integration.pk}/daily.csv?period=7"))
    assert len(rows) == 1 + 5 * 7


def test_it_keeps_a_spreadsheet_from_running_a_name(client, integration):
    gbp_locations(integration, ["=HYPERLINK(\"http://x\")"], end=END, days=1)
    rows = rows_of(client.get(f"/integrations/gbp/{integration.pk}/locations.csv"))
    assert rows[1][0].startswith("'=")


def test_it_is_a_404_for_someone_else(client, other, integration):
    client.force_login(other)
    assert client.get(f"/integrations/gbp/{integration.pk}/locations.csv").status_code == 404
