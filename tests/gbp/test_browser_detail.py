"""A real browser opens the detail page after a sync and sees the charts drawn."""

import re

import pytest

from gbp.sync import GbpSyncService
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser


def test_it_draws_the_charts_in_a_browser(connected, sandbox, page, settings):
    settings.GBP_BACKFILL_DAYS = 35
    GbpSyncService().sync(connected)
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    page.wait_for_url(re.compile(rf"/integrations/gbp/{connected.pk}/$"))
    chart = page.locator("svg.chart").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80  # laid out, visible
    lines = page.locator("svg.chart").locator("polyline.series")
    assert lines.count() == 9 * 4
    assert all(len(lines.nth(i).get_attribute("points").split()) == 30 for i in range(4))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "detail-chart", full_page=False)
    screenshot(page, "detail-page-full")


def seed_locations(integration, count=2, days=30):
    """Locations with a month of metrics, written directly (the page, not the sync, is tested)."""
    from datetime import date, timedelta

    from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation
    from gbp.sync import METRICS

    account = GbpAccount.objects.create(integration=integration, name="accounts/1")
    end = date.today() - timedelta(days=1)
    for n in range(count):
        location = GbpLocation.objects.create(
            integration=integration, account=account, name=f"locations/{n}",
            title=f"Bakery number {n} on a street with a long name")
        GbpDailyMetric.objects.bulk_create(
            GbpDailyMetric(location=location, metric=metric, date=end - timedelta(days=d),
                           value=(1200 if "IMPRESSIONS" in metric else 12) + d)
            for metric in METRICS for d in range(days))


def test_it_fits_the_charts_on_a_phone_with_readable_labels(connected, sandbox, page):
    seed_locations(connected)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    screenshot(page, "detail-390")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for i in range(charts.count()):
        chart = charts.nth(i)
        fits = chart.evaluate("""svg => { const r = svg.getBoundingClientRect(),
            c = svg.closest('section.location').getBoundingClientRect();
            return c.left <= r.left && r.right <= c.right; }""")
        assert fits  # within its location card
        sizes = chart.evaluate("""svg => [...svg.querySelectorAll('text')].map(t =>
            parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a)""")
        assert sizes and min(sizes) >= 9.5, sizes  # px on screen
        # No label is cut off at the chart's edges.
        inside = chart.evaluate("""svg => { const r = svg.getBoundingClientRect();
            return [...svg.querySelectorAll('text')].every(t => { const b = t.getBoundingClientRect();
              return b.left >= r.left - 0.5 && b.right <= r.right + 0.5; }); }""")
        assert inside


def test_it_lets_you_jump_to_a_location(connected, sandbox, page):
    seed_locations(connected, count=3)
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    page.locator("nav.location-nav a").nth(1).click()
    page.wait_for_url(re.compile(r"#location-\d+$"))
    heading = page.locator("section.location").nth(1).locator("h2")
    assert 0 <= heading.bounding_box()["y"] < 150  # scrolled to it


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
