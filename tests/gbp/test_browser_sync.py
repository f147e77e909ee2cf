"""In a real browser: "Sync now" is disabled while its sync runs, the result follows (never a
success for a failure), a second click is throttled, and a sync under way shows its progress."""

import re
import threading

import pytest
from django.db import connection

from gbp.sync import GbpSyncService
from tests.conftest import screenshot
from tests.helpers import log_in, wait_until_syncing

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def slow_api(settings):
    settings.GBP_BACKFILL_DAYS = 7
    settings.SANDBOX_GBP_LATENCY_MS = 200  # every GBP API answer: a sync takes a few seconds


def open_detail(page, sandbox, integration):
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{integration.pk}/")
    page.wait_for_url(re.compile(rf"/integrations/gbp/{integration.pk}/$"))


def test_it_disables_sync_now_while_it_runs_then_throttles_the_next_click(connected, sandbox,
                                                                            page):
    from playwright.sync_api import expect

    open_detail(page, sandbox, connected)
    # What the button looked like just after the click, while the sync ran in the request (kept
    # across the navigation that shows the result).
    page.evaluate("""() => document.getElementById("sync-now").addEventListener("submit", () => {
        const b = document.querySelector("#sync-now button");
        sessionStorage.setItem("after-click", b.disabled + "|" + b.textContent.trim());
    })""")
    page.locator("#sync-now button").click()
    expect(page.locator(".msg-success")).to_have_text("Sync finished.", timeout=30000)
    assert page.evaluate("sessionStorage.getItem('after-click')") == "true|Syncing…"
    expect(page.locator("#sync-now button")).to_be_enabled()
    assert "Synced 9 locations" in page.content()
    screenshot(page, "gbp-sync-finished", full_page=False)

    page.locator("#sync-now button").click()
    expect(page.locator(".msg-info")).to_contain_text("You can sync it again in 5 minutes.")
    screenshot(page, "gbp-sync-throttled", full_page=False)
    assert connected.events.filter(kind="sync").count() == 1


def test_it_reports_a_failed_sync_as_a_failure(connected, sandbox, page):
    from playwright.sync_api import expect

    sandbox.inject("metrics", "403", times=None)
    open_detail(page, sandbox, connected)
    page.locator("#sync-now button").click()
    expect(page.locator(".msg-error")).to_have_text("The sync did not finish; see below.",
                                                    timeout=30000)
    assert page.locator(".msg-success", has_text="Sync").count() == 0


def test_it_follows_a_sync_under_way_until_its_result(connected, sandbox, page, settings):
    from playwright.sync_api import expect

    settings.GBP_SYNC_CONCURRENCY = 1  # slow enough to watch: ~16 calls of 400 ms
    settings.SANDBOX_GBP_LATENCY_MS = 400
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    def sync():
        try:
            GbpSyncService().sync(connected)
        finally:
            connection.close()  # this thread's own: the test database is dropped at the end

    worker = threading.Thread(target=sync)
    worker.start()  # as a Celery worker (or the daily schedule) would
    try:
        wait_until_syncing(connected)  # the page is opened once the sync holds its lease
        page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
        button = page.locator("#sync-now button")
        expect(button).to_be_disabled()
        expect(page.locator(".sync-progress")).to_have_text(
            re.compile(r"Syncing… (listing locations|\d of 9 locations)"))
        screenshot(page, "gbp-syncing", full_page=False)
        # The page follows the progress, then reloads itself with the result.
        expect(page.locator("text=Synced 9 locations")).to_be_visible(timeout=30000)
        expect(page.locator("#sync-now button")).to_be_enabled()
        expect(page.locator("#sync-now button")).to_have_text("Sync now")
    finally:
        worker.join(60)
