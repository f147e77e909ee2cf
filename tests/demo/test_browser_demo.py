"""The demo host in a real browser: a walk-through at 1280 px and 390 px, sign-up, navigation."""

import re

import pytest

from gbp.sync import GbpSyncService
from integrations import tokens
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


@pytest.mark.parametrize("width", [390, 1280])
def test_it_never_scrolls_sideways(connected, sandbox, page, owner, width, make_integration,
                                   settings):
    settings.GBP_BACKFILL_DAYS = 5
    GbpSyncService().sync(connected)
    broken = make_integration(owner, "sandbox", display_name="a-very-long-address-" * 3 + "@x.com")
    tokens.mark_reauth_required(broken, "invalid_grant", "Token has been expired or revoked.")
    make_integration(owner, "sandbox", status="disconnected")

    page.set_viewport_size({"width": width, "height": 900})
    for path in ("/accounts/login/", "/accounts/signup/"):
        page.goto(sandbox.base_url + path)
        assert not scrolls_sideways(page), path
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    for path in ("/integrations/", f"/integrations/gbp/{connected.pk}/",
                 f"/integrations/gbp/{broken.pk}/", "/sandbox/"):
        page.goto(sandbox.base_url + path)
        screenshot(page, f"walk-{width}-{path.strip('/').replace('/', '-')}")
        assert not scrolls_sideways(page), path


def test_it_shows_sign_up_errors_as_errors(sandbox, page, db):
    page.goto(f"{sandbox.base_url}/accounts/signup/")
    page.fill("#id_username", "dora")
    page.fill("#id_email", "dora@example.com")
    page.fill("#id_password1", "a-long-pass-phrase-9")
    page.fill("#id_password2", "a-different-phrase-9")
    page.click("button[type=submit]")
    alert = page.get_by_role("alert")
    assert "not created" in alert.inner_text()
    errors = page.locator(".errorlist").first
    assert "didn" in errors.inner_text()
    red = errors.evaluate("e => getComputedStyle(e).color")
    assert red == "rgb(207, 34, 46)", red
    screenshot(page, "signup-errors")


def test_it_links_the_sandbox_in_the_navigation(sandbox, page, owner):
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.locator("header nav").get_by_role("link", name="Sandbox").click()
    page.wait_for_url(re.compile(r"/sandbox/$"))
    assert page.get_by_role("button", name="Revoke my grant").is_visible()
