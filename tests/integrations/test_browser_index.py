"""The integrations page in a real browser: what a user reads when a sync fails."""

import re

import pytest

from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_it_shows_plain_words_on_the_card_when_google_refuses(connected, sandbox, page, width):
    sandbox.inject("metrics", "403", times=None)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.locator("article.card[data-status=active]").get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(r"/integrations/gbp/\d+/$"))
    page.goto(f"{sandbox.base_url}/integrations/")
    card = page.locator("article.card[data-status=active]")
    screenshot(page, f"card-sync-failing-{width}")
    assert card.locator(".badge-sync-failing").is_visible()
    text = card.inner_text()
    assert "can't be synced right now; we've been told" in text
    for operator_text in ("Cloud project", "123456789", "operator must enable", "console."):
        assert operator_text not in text, operator_text
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert card.evaluate("c => c.scrollWidth <= c.clientWidth")
