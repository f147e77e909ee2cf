"""The sandbox's consent page and the missing-permission page, on a phone and on a desktop."""

import re

import pytest

from sandbox.conf import GBP_SCOPE
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def open_consent(page, base):
    page.goto(f"{base}/integrations/")
    page.locator("article.card", has_text="(sandbox)").get_by_role("link", name="Connect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))


@pytest.mark.parametrize("width", WIDTHS)
def test_it_fits_the_consent_page_with_checkboxes_beside_their_scope(sandbox, page, owner,
                                                                      width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    open_consent(page, sandbox.base_url)
    screenshot(page, f"consent-{width}")
    assert not scrolls_sideways(page)
    box = page.locator(f'input[value="{GBP_SCOPE}"]').bounding_box()
    text = page.locator("ul.scopes label", has_text="business.manage").bounding_box()
    assert box["width"] < 30  # a checkbox, not a 100%-wide field
    assert text["x"] <= box["x"] and box["y"] - text["y"] < 12  # on the first line of its label
    scope = page.get_by_text(GBP_SCOPE).bounding_box()
    assert scope["x"] + scope["width"] <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_it_fits_the_missing_permission_page(sandbox, page, owner, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    open_consent(page, sandbox.base_url)
    page.locator(f'input[value="{GBP_SCOPE}"]').uncheck()
    page.click("#allow")
    page.wait_for_url(re.compile(r"/integrations/callback/sandbox/"))
    assert page.get_by_text("Some permissions were not granted").is_visible()
    screenshot(page, f"missing-scope-{width}")
    assert not scrolls_sideways(page)
    card = page.locator("section.narrow").bounding_box()
    scope = page.locator("code", has_text="business.manage").bounding_box()
    assert scope["x"] + scope["width"] <= card["x"] + card["width"]  # within its card
