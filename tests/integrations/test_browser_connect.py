"""A real browser clicks through connect, consent and disconnect against the sandbox."""

import re

import pytest

from integrations.models import Integration
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser


def test_it_connects_and_disconnects_in_a_browser(sandbox, page, owner):
    base = sandbox.base_url
    log_in(page, base, "alice", "pw-alice-1")
    screenshot(page, "connect-1-integrations-empty")

    card = page.locator("article.card", has_text="Google Business Profile (sandbox)")
    card.get_by_role("link", name="Connect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    assert page.get_by_text("business.manage").is_visible()
    screenshot(page, "connect-2-consent")
    page.click("#allow")

    page.wait_for_url(re.compile(r"/integrations/$"))
    active = page.locator("article.card[data-status=active]")
    assert active.get_by_text("Connected").first.is_visible()
    assert page.get_by_text("Connected Google Business Profile (sandbox)").is_visible()
    screenshot(page, "connect-3-active-card")
    integration = Integration.objects.get()
    assert integration.credential.access_token not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    active.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector("article.card[data-status=disconnected]")
    screenshot(page, "connect-4-disconnected")
    integration.refresh_from_db()
    assert integration.status == "disconnected"


def test_it_shows_you_declined_in_a_browser(sandbox, page, owner):
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.locator("article.card", has_text="(sandbox)").get_by_role("link", name="Connect").click()
    page.click("#deny")
    page.wait_for_url(re.compile(r"/integrations/$"))
    assert page.get_by_text("You declined to connect").is_visible()
    assert not Integration.objects.exists()
