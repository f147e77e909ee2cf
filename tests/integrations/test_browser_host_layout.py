"""The product's pages in a host's layout that is not the demo's (tests/hostlayout/templates):
they bring their own look (buttons, badges, cards, bounded charts), and leave the host's alone."""

from pathlib import Path

import pytest

from gbp.sync import GbpSyncService
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

HOST_TEMPLATES = Path(__file__).resolve().parent.parent / "hostlayout" / "templates"
ACCENT = "rgb(9, 105, 218)"
HOST_BACKGROUND = "rgb(250, 240, 230)"
PURPLE = "rgb(128, 0, 128)"


@pytest.fixture
def host_layout(settings):
    """Only the host's templates: its base.html, and integrations/base.html extending it."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [HOST_TEMPLATES]}]


def open_as_owner(page, sandbox, client, path, settings):
    """Log in with the test client's session (the host has no log-in page of its own here)."""
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie,
                               "url": sandbox.base_url}])
    page.goto(sandbox.base_url + path)


def style(locator, prop):
    return locator.evaluate("(e, prop) => getComputedStyle(e)[prop]", prop)


def assert_host_untouched(page):
    """The host's layout is there, and styled as the host wrote it."""
    assert page.locator("#acme-header").inner_text().startswith("Acme back office")
    assert page.locator(".acme-content h1").count() == 1  # the product's page, in the host's frame
    body = page.locator("body")
    assert style(body, "backgroundColor") == HOST_BACKGROUND
    assert style(body, "fontFamily").startswith("Georgia")
    assert style(body, "fontSize") == "17px"
    assert style(page.locator("#acme-nav-integrations"), "color") == PURPLE
    assert style(page.locator("#acme-search"), "fontFamily") == "serif"
    sidebar = page.locator(".acme-sidebar").bounding_box()
    assert sidebar["x"] == 0 and sidebar["width"] > 200


def test_it_styles_the_integrations_page_in_the_hosts_layout(host_layout, connected, sandbox,
                                                              page, client, settings):
    open_as_owner(page, sandbox, client, "/integrations/", settings)
    screenshot(page, "host-layout-integrations")
    assert_host_untouched(page)

    primary = page.locator("a.btn-primary").first
    assert style(primary, "backgroundColor") == ACCENT
    assert style(primary, "color") == "rgb(255, 255, 255)"
    badge = page.locator("article.card[data-status=active] .badge-active")
    assert style(badge, "borderTopLeftRadius") == "999px"
    assert style(badge, "borderTopColor") == "rgb(26, 127, 55)"
    grid = page.locator(".grid").last
    assert style(grid, "display") == "grid"
    assert len(style(grid, "gridTemplateColumns").split()) >= 2  # cards side by side
    card = page.locator("article.card[data-status=active]")
    assert style(card, "backgroundColor") == "rgb(255, 255, 255)"
    assert style(card, "borderTopLeftRadius") == "8px"
    # The host's generic rules (a, button) do not reach the product's own markup.
    sync_now = card.get_by_role("button", name="Sync now")
    assert "system-ui" in style(sync_now, "fontFamily")
    heading = page.locator("h1")  # the host says `h1 { font-size: 2.6rem }`
    assert "system-ui" in style(heading, "fontFamily") and style(heading, "fontSize") == "30px"


def test_it_styles_the_connect_error_page_in_the_hosts_layout(host_layout, connected, sandbox,
                                                               page, client, settings):
    open_as_owner(page, sandbox, client, "/integrations/callback/sandbox/?state=bad", settings)
    assert_host_untouched(page)
    box = page.locator("section.narrow")
    assert style(box, "maxWidth") == "420px" and style(box, "borderTopLeftRadius") == "8px"
    assert style(page.locator("a.btn-primary"), "backgroundColor") == ACCENT


def test_it_keeps_the_gbp_page_in_shape_in_the_hosts_layout(host_layout, connected, sandbox,
                                                           page, client, settings):
    settings.GBP_BACKFILL_DAYS = 35
    GbpSyncService().sync(connected)
    open_as_owner(page, sandbox, client, f"/integrations/gbp/{connected.pk}/", settings)
    screenshot(page, "host-layout-gbp")
    assert_host_untouched(page)

    rows = page.locator("table.locations tbody tr")
    assert rows.count() == 9
    assert style(page.locator(".periods a.current"), "backgroundColor") == ACCENT
    assert style(page.locator(".total b").first, "display") == "block"  # numbers above labels
    assert page.locator("svg.sparkline").first.bounding_box()["height"] < 40
    assert style(page.locator(".badge-active"), "borderTopLeftRadius") == "999px"
    back = page.get_by_role("link", name="← My integrations")
    assert style(back, "color") == ACCENT
    history = page.locator("table").last  # the host says `table { width: auto }`
    assert history.evaluate("t => t.getBoundingClientRect().width === "
                            "t.parentElement.getBoundingClientRect().width")

    # The page's script (gbp/sync.js) runs here too: the click shows the sync under way.
    button = page.locator("#sync-now button")
    assert style(button, "backgroundColor") == ACCENT
    assert "system-ui" in style(button, "fontFamily")
    page.evaluate("""() => document.getElementById("sync-now")
        .addEventListener("submit", e => e.preventDefault())""")
    button.click()
    assert button.is_disabled() and button.inner_text().strip() == "Syncing…"
    assert style(page.locator("#sync-now .spinner"), "animationName") == "stay-connected-spin"

    # A location's page: one chart a metric, each within its column of the host's layout.
    rows.first.locator("th a").click()
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert 80 < box["height"] < 320, box  # not a 1,000 px chart
        fits = charts.nth(i).evaluate("""svg => { const r = svg.getBoundingClientRect(),
            c = svg.closest('.charts').getBoundingClientRect();
            return c.left <= r.left + 0.5 && r.right <= c.right + 0.5; }""")
        assert fits
    screenshot(page, "host-layout-gbp-location")


def test_it_shows_the_products_messages_in_the_hosts_layout(host_layout, connected, sandbox,
                                                             page, client, settings):
    from playwright.sync_api import expect

    settings.GBP_BACKFILL_DAYS = 7
    open_as_owner(page, sandbox, client, f"/integrations/gbp/{connected.pk}/", settings)
    page.locator("#sync-now button").click()
    flash = page.locator(".acme-flash")
    expect(flash).to_have_text("Sync finished.", timeout=30000)
    assert style(flash, "borderTopStyle") == "dashed"  # the host's markup, the host's style
