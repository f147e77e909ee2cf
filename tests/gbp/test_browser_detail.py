"""A real browser on the Business Profile pages: the overview's table (natural order, period,
sort, search), a location's charts (one metric each, readable at 1280 and 390 px), the filters
and the CSV export."""

import re

import pytest

from tests.conftest import screenshot
from tests.helpers import gbp_locations, log_in

pytestmark = pytest.mark.browser


WIDTHS = [1280, 390]


def seed(integration, count=30):
    """Locations with 90 days of metrics and a few reviews, written directly (the pages, not
    the sync, are tested here)."""
    from datetime import date, datetime, timedelta, timezone

    yesterday = date.today() - timedelta(days=1)
    return gbp_locations(
        integration, [f"Bakery #{n} on a street with a long name" for n in range(1, count + 1)],
        end=yesterday, days=90,
        value=lambda n, metric, day: ((1200 if "IMPRESSIONS" in metric else 12)
                                      + (n + day.day) % 7 * 9),
        reviews=[{"star_rating": 5, "comment": "Lovely bread", "reviewer_name": "Ana",
                  "create_time": datetime.now(timezone.utc) - timedelta(days=2)},
                 {"star_rating": 2, "comment": "Cold coffee", "reviewer_name": "Ben",
                  "create_time": datetime.now(timezone.utc) - timedelta(days=1),
                  "reply_comment": "Sorry, Ben!"}])


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_it_shows_the_overview_table(connected, sandbox, page, width):
    seed(connected)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    assert page.get_by_role("heading", name="Overview of 30 locations").is_visible()
    rows = page.locator("table.locations tbody tr")
    assert rows.count() == 25
    assert rows.first.locator("th a").inner_text().startswith("Bakery #1 ")
    assert rows.nth(1).locator("th a").inner_text().startswith("Bakery #2 ")  # natural order
    assert page.locator("svg.sparkline").first.bounding_box()["width"] > 50
    assert fits(page)  # the table scrolls inside its own box on a phone
    screenshot(page, f"overview-{width}", full_page=False)
    page.get_by_role("link", name="90 days").click()
    page.wait_for_url(re.compile(r"period=90"))
    page.get_by_role("link", name="Calls").click()  # largest first
    page.wait_for_url(re.compile(r"sort=-calls"))
    page.get_by_label("Search locations").fill("#17 ")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=%2317"))
    assert rows.count() == 1
    rows.first.locator("th a").click()
    page.wait_for_url(re.compile(r"/locations/\d+/\?period=90"))
    assert page.get_by_role("heading", name="Bakery #17 on a street with a long name").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_it_draws_a_locations_charts_readably(connected, sandbox, page, width):
    location = seed(connected, count=1)[0]
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/locations/{location.pk}/")
    charts = page.locator("svg.chart")
    assert charts.count() == 4 and fits(page)
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.locator("polyline.series").count() == 1  # one metric a chart
        assert len(chart.locator("polyline.series").get_attribute("points").split()) == 28
        box = chart.bounding_box()
        assert box["width"] > 250 and box["height"] > 80
        sizes = chart.evaluate("""svg => [...svg.querySelectorAll('text')].map(t =>
            parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a)""")
        assert sizes and min(sizes) >= 9.5, sizes  # px on screen
    assert page.locator("table.distribution tr").count() == 5
    page.get_by_label("Unanswered only").check()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"unanswered=1"))
    assert page.get_by_text("Lovely bread").is_visible()
    assert page.get_by_text("Cold coffee").count() == 0
    screenshot(page, f"location-{width}")


def test_it_downloads_the_table_as_csv(connected, sandbox, page):
    seed(connected, count=3)
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/?period=7")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export this table (CSV)").click()
    text = open(download.value.path(), encoding="utf-8").read()
    lines = text.splitlines()
    assert lines[0].startswith("Location,Address,From,To,Impressions") and len(lines) == 4
    assert download.value.suggested_filename.endswith(".csv")


def test_it_offers_reconnect_on_the_detail_page(connected, sandbox, page, owner):
    from integrations import tokens

    tokens.mark_reauth_required(connected, "invalid_grant", "Token has been expired or revoked.")
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    assert page.get_by_text("Reconnect to continue.").is_visible()
    screenshot(page, "detail-reconnect")
    page.get_by_role("link", name="Reconnect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    page.click("#allow")
    page.wait_for_url(re.compile(rf"/integrations/gbp/{connected.pk}/$"))
    assert page.get_by_text("Reconnected Google Business Profile (sandbox)").is_visible()
    connected.refresh_from_db()
    assert connected.status == "active"
