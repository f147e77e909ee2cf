"""The issue's walk-through in a real browser: a revoked grant, a failed sync, a reconnect."""

import re

import pytest

from integrations.models import Integration
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser


def test_it_clears_the_sync_error_after_a_reconnect(sandbox, page, owner, settings):
    settings.GBP_BACKFILL_DAYS = 3
    base = sandbox.base_url
    log_in(page, base, "alice", "pw-alice-1")
    page.locator("article.card", has_text="(sandbox)").get_by_role("link", name="Connect").click()
    page.click("#allow")
    page.wait_for_url(re.compile(r"/integrations/$"))

    page.get_by_role("link", name="Sandbox").click()  # the demo's navigation
    page.wait_for_url(re.compile(r"/sandbox/$"))
    page.get_by_role("button", name="Revoke my grant").click()
    page.wait_for_url(re.compile(r"/sandbox/$"))

    page.goto(f"{base}/integrations/")
    page.locator("article.card[data-status=active]").get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(r"/integrations/gbp/\d+/$"))
    page.goto(f"{base}/integrations/")
    card = page.locator("article.card[data-status=reauth_required]")
    assert card.get_by_text("Reconnect to continue.").is_visible()
    screenshot(page, "reconnect-1-needs-reconnect")

    card.get_by_role("link", name="Reconnect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    page.click("#allow")
    page.wait_for_url(re.compile(r"/integrations/$"))
    screenshot(page, "reconnect-2-reconnected")
    card = page.locator("article.card[data-status=active]")
    assert card.locator(".badge-active").inner_text() == "Connected"
    text = card.inner_text()
    for stale in ("Error", "Reconnect needed", "invalid_grant", "Sync failing", "resume once"):
        assert stale not in text, stale
    integration = Integration.objects.get()
    assert not Integration.objects.needs_attention().filter(pk=integration.pk).exists()
