"""A location's page: one chart per metric, its reviews newest first with filters, the rating
distribution."""

from datetime import date, datetime, timezone

import pytest

from tests.helpers import gbp_locations, page_text

END = date(2026, 11, 30)


def when(day):
    return datetime(2026, 11, day, 12, tzinfo=timezone.utc)


REVIEWS = [
    {"star_rating": 5, "comment": "Lovely bread", "create_time": when(3)},
    {"star_rating": 1, "comment": "Cold coffee", "create_time": when(20)},
    {"star_rating": 4, "comment": "Nice", "create_time": when(10), "reply_comment": "Thanks!"},
]


@pytest.fixture
def page(client, owner, make_integration):
    client.force_login(owner)
    integration = make_integration(owner, "sandbox")
    location, = gbp_locations(integration, ["Bakery #1"], end=END, days=28, reviews=REVIEWS)

    def get(query=""):
        return page_text(client.get(
            f"/integrations/gbp/{integration.pk}/locations/{location.pk}/{query}"))
    return get


def test_it_draws_one_chart_per_metric(page):
    html = page()
    assert html.count('class="chart"') == 4
    assert html.count('class="series"') == 4  # one series each, no overlay
    for label in ("Impressions", "Calls", "Website clicks", "Directions"):
        assert f"{label}, last 28 days" in html


def test_it_lists_reviews_newest_first(page):
    html = page()
    assert html.index("Cold coffee") < html.index("Nice") < html.index("Lovely bread")


def test_it_filters_reviews_by_rating(page):
    html = page("?stars=1")
    assert "Cold coffee" in html and "Lovely bread" not in html


def test_it_filters_unanswered_reviews(page):
    html = page("?unanswered=1")
    assert "Cold coffee" in html and "Lovely bread" in html and "Thanks!" not in html


def test_it_shows_the_rating_distribution(page):
    html = page()
    start = html.index('class="distribution"')
    distribution = html[start:html.index("</table>", start)]
    assert distribution.count("<tr>") == 5 and "width: 33%" in distribution


def test_it_offers_a_reply_form_per_unanswered_review(page):
    html = page()
    assert html.count("Post reply") == 2 and html.count("Edit reply") == 1


def test_it_is_a_404_through_another_integration(client, owner, make_integration):
    client.force_login(owner)
    first, second = (make_integration(owner, "sandbox", external_id=x) for x in ("a", "b"))
    location, = gbp_locations(first, ["Bakery"], end=END, days=1)
    assert client.get(f"/integrations/gbp/{second.pk}/locations/{location.pk}/").status_code == 404
    assert client.get(f"/integrations/gbp/{first.pk}/locations/{location.pk}/").status_code == 200


def test_it_is_a_404_for_someone_else(client, owner, other, make_integration):
    integration = make_integration(owner, "sandbox")
    location, = gbp_locations(integration, ["Bakery"], end=END, days=1)
    client.force_login(other)
    url = f"/integrations/gbp/{integration.pk}/locations/{location.pk}/"
    assert client.get(url).status_code == 404
