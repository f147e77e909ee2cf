"""The overview of an integration's locations: period totals and their change, the table
(sorted, searched, paged), in a bounded number of queries."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import gbp_locations, page_text

END = date(2026, 11, 30)


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def integration(db, owner, make_integration):
    return make_integration(owner, "sandbox")


def url(integration, query=""):
    return f"/integrations/gbp/{integration.pk}/{query}"


def test_it_totals_the_period_and_compares_it_with_the_one_before(logged_in, integration):
    # Calls: 2 a day in the last 7 days, 1 a day the 7 before: +100%.
    gbp_locations(integration, ["Bakery"], end=END, days=14,
                  value=lambda n, metric, day: 2 if (END - day).days < 7 else 1)
    html = page_text(logged_in.get(url(integration, "?period=7")))
    assert "<b>56</b>Impressions" in html  # 4 impression metrics x 2 x 7 days
    assert "+100%" in html
    assert "Nov. 24, 2026 to Nov. 30, 2026" in html


def test_it_groups_thousands(logged_in, integration):
    gbp_locations(integration, ["Bakery"], end=END, days=28, value=lambda *a: 1000)
    assert "<b>112,000</b>Impressions" in page_text(logged_in.get(url(integration)))


def test_it_takes_a_custom_period(logged_in, integration):
    gbp_locations(integration, ["Bakery"], end=END, days=28)
    html = page_text(logged_in.get(url(integration, "?period=custom&start=2026-11-21"
                                                    "&end=2026-11-30")))
    assert "<b>40</b>Impressions" in html  # 4 x 10 days


def test_it_falls_back_to_the_default_on_a_period_it_cannot_read(logged_in, integration):
    gbp_locations(integration, ["Bakery"], end=END, days=28)
    html = page_text(logged_in.get(url(integration, "?period=custom&start=2026-13-01&end=x")))
    assert "could not be read" in html and "<b>112</b>Impressions" in html


def test_it_sorts_by_any_column(logged_in, integration):
    gbp_locations(integration, ["A", "B", "C"], end=END, days=28,
                  value=lambda n, metric, day: [5, 9, 1][n] if metric == "CALL_CLICKS" else 1)
    html = page_text(logged_in.get(url(integration, "?sort=-calls")))
    body = html[html.index("<tbody>"):]
    assert body.index(">B<") < body.index(">A<") < body.index(">C<")


def test_it_searches_by_name(logged_in, integration):
    gbp_locations(integration, ["Riverton Bakery", "Lakeside Café"], end=END, days=7)
    html = page_text(logged_in.get(url(integration, "?q=river")))
    assert "Riverton Bakery" in html and "Lakeside Café" not in html


def test_it_pages_the_table(logged_in, integration):
    gbp_locations(integration, [f"Shop #{n}" for n in range(1, 31)], end=END, days=1)
    first = page_text(logged_in.get(url(integration)))
    second = page_text(logged_in.get(url(integration, "?page=2")))
    assert "Page 1 of 2" in first and ">Shop #25<" in first and ">Shop #26<" not in first
    assert ">Shop #26<" in second and ">Shop #30<" in second


def test_it_reads_a_bounded_number_of_queries(logged_in, integration):
    def queries(titles):
        gbp_locations(integration, titles, end=END, days=3,
                      reviews=[{"star_rating": 5, "comment": "Good"}])
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get(url(integration)).status_code == 200
        return len(captured)

    assert queries([f"A{n}" for n in range(3)]) == queries([f"B{n}" for n in range(60)])


def test_it_counts_unanswered_reviews(logged_in, integration):
    gbp_locations(integration, ["Bakery"], end=END, days=1, reviews=[
        {"star_rating": 5, "comment": "Good"}, {"star_rating": 2, "comment": "Meh"},
        {"star_rating": 4, "comment": "Ok", "reply_comment": "Thanks"}])
    html = page_text(logged_in.get(url(integration)))
    assert "2 unanswered reviews" in html


def test_it_is_a_404_for_someone_else(client, other, integration):
    gbp_locations(integration, ["Bakery"], end=END, days=1)
    client.force_login(other)
    assert client.get(url(integration)).status_code == 404


def test_it_shows_every_location_of_the_owner_across_accounts(logged_in, owner, integration,
                                                              make_integration, other):
    second = make_integration(owner, "sandbox", external_id="second")
    elsewhere = make_integration(other, "sandbox", external_id="elsewhere")
    gbp_locations(integration, ["Bakery #2"], end=END, days=7)
    gbp_locations(second, ["Bakery #10"], end=END, days=7)
    gbp_locations(elsewhere, ["Not ours"], end=END, days=7)
    html = page_text(logged_in.get("/integrations/gbp/"))
    assert "Overview of 2 locations" in html and "Not ours" not in html
    assert html.index("Bakery #2") < html.index("Bakery #10")
    assert f"/integrations/gbp/{second.pk}/locations/" in html
    csv_text = b"".join(logged_in.get("/integrations/gbp/locations.csv").streaming_content)
    assert b"Bakery #10" in csv_text and b"Not ours" not in csv_text
