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
