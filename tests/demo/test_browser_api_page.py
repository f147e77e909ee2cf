"""The demo's API page (a frontend that uses only the JSON API) in a real browser, at 1280 and
390 px, under the pages' Content-Security-Policy: connect, the outcome shown, Sync now with its
progress, the re-auth prompt after the grant is revoked, a reconnect on the same row. And the
API's reference page, which runs under the same policy."""

import re
import threading

import pytest
from django.db import connection

from gbp.sync import GbpSyncService
from integrations.models import Integration
from tests.conftest import screenshot
from tests.helpers import csp_violations, log_in, wait_until_syncing

pytestmark = pytest.mark.browser

def no_violations(page, console):
    found = csp_violations(page, console)
    assert not found, found


def open_api_page(page, base):
    log_in(page, base, "alice", "pw-alice-1")
    page.locator("header nav").get_by_role("link", name="API demo").click()
    page.wait_for_url(re.compile(r"/api-demo/$"))


def connect_sandbox(page):
    page.locator("li[data-provider=sandbox]").get_by_role("button", name="Connect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    page.click("#allow")
    page.wait_for_url(re.compile(r"/api-demo/"))


@pytest.mark.parametrize("width", [1280, 390])
def test_it_connects_syncs_and_reconnects_through_the_api(sandbox, watched, owner, width,
                                                         settings):
    from playwright.sync_api import expect

    settings.GBP_BACKFILL_DAYS = 3
    page, console = watched
    page.set_viewport_size({"width": width, "height": 900})
    open_api_page(page, sandbox.base_url)
    expect(page.locator("#api-empty")).to_be_visible()

    connect_sandbox(page)
    expect(page.locator("#api-outcome")).to_have_text("Connected.")
    assert page.url.endswith("/api-demo/")  # the outcome read, then taken off the address
    integration = Integration.objects.get()
    card = page.locator(f"li[data-integration='{integration.pk}']")
    expect(card).to_have_attribute("data-status", "active")
    expect(card.locator(".api-status")).to_have_text("Connected")
    screenshot(page, f"api-page-{width}-connected")

    card.get_by_role("button", name="Sync now").click()
    expect(card.locator(".api-progress")).to_contain_text("Synced 9 locations",
                                                          timeout=30000)
    expect(card.get_by_role("button", name="Sync now")).to_be_enabled()

    sandbox.revoke_grant(owner)  # the user removes the app's access at the provider
    card.get_by_role("button", name="Renew access now").click()
    expect(page.locator("#api-error")).to_contain_text("Reconnect to continue.")
    expect(card).to_have_attribute("data-status", "reauth_required")
    prompt = card.locator(".api-reauth")
    expect(prompt).to_be_visible()
    expect(card.get_by_role("button", name="Sync now")).to_be_hidden()  # not until reconnected
    expect(card.locator(".api-reason")).to_have_text(
        "Google Business Profile (sandbox) says our access was revoked or has expired. "
        "Reconnect to continue.")
    screenshot(page, f"api-page-{width}-needs-reconnect")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    prompt.get_by_role("button", name="Reconnect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    page.click("#allow")
    page.wait_for_url(re.compile(r"/api-demo/"))
    expect(page.locator("#api-outcome")).to_have_text("Reconnected: the connection works again.")
    expect(card).to_have_attribute("data-status", "active")
    expect(card.locator(".api-reauth")).to_be_hidden()
    assert list(Integration.objects.values_list("pk", "status")) == [(integration.pk, "active")]
    screenshot(page, f"api-page-{width}-reconnected")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_violations(page, console)


def test_it_follows_a_sync_under_way(connected, sandbox, watched, settings):
    from playwright.sync_api import expect

    settings.GBP_BACKFILL_DAYS = 3
    settings.GBP_SYNC_CONCURRENCY = 1  # slow enough to watch
    settings.SANDBOX_GBP_LATENCY_MS = 300
    page, console = watched
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")

    def sync():
        try:
            GbpSyncService().sync(connected)
        finally:
            connection.close()

    worker = threading.Thread(target=sync)
    worker.start()  # as a Celery worker would
    try:
        wait_until_syncing(connected)
        page.goto(f"{sandbox.base_url}/api-demo/")
        card = page.locator(f"li[data-integration='{connected.pk}']")
        expect(card.locator(".api-progress")).to_have_text(
            re.compile(r"Syncing… (listing locations|\d of 9 locations?)"))
        expect(card.get_by_role("button", name="Sync now")).to_be_disabled()
        screenshot(page, "api-page-syncing", full_page=False)
        expect(card.locator(".api-progress")).to_contain_text("Synced 9 locations",
                                                              timeout=30000)
        expect(card.get_by_role("button", name="Sync now")).to_be_enabled()
    finally:
        worker.join(60)
    no_violations(page, console)


def test_it_renders_the_api_reference_under_the_policy(sandbox, watched):
    from playwright.sync_api import expect

    page, console = watched
    response = page.goto(f"{sandbox.base_url}/integrations/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15000)
    assert page.locator(".swagger-ui .opblock").count() == 17
    screenshot(page, "api-reference", full_page=False)
    no_violations(page, console)
