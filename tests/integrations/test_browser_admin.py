"""Admin at 1280 px in a real browser: nothing cut off, nothing to scroll sideways."""

import re

import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

OPERATOR_TEXT = ("Google refused access (403). An operator must enable the My Business Account "
                 "Management, Business Information and Business Profile Performance APIs for the "
                 "Google Cloud project. Google said: My Business Business Information API has "
                 "not been used in project 123456789 before or it is disabled. Enable it by "
                 "visiting https://console.developers.google.com/apis/api/mybusinessbusiness"
                 "information.googleapis.com/overview?project=123456789 then retry.")


def admin_log_in(page, base):
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", "pw-carol-1")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def test_it_shows_the_whole_list_at_1280_px(sandbox, page, staff, owner, make_integration):
    make_integration(owner, last_sync_status="error", last_sync_message=OPERATOR_TEXT,
                     display_name="owner-with-a-long-address@example.com · Acme Bakeries")
    make_integration(owner, "gmail", last_error_code="invalid_client", last_error_kind="operator",
                     last_error_message="The OAuth client was not found. " * 4)
    page.set_viewport_size({"width": 1280, "height": 900})
    admin_log_in(page, sandbox.base_url)
    page.goto(f"{sandbox.base_url}/admin/integrations/integration/")
    screenshot(page, "admin-list-1280")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    results = page.locator("#changelist .results")
    assert results.evaluate("r => r.scrollWidth <= r.clientWidth")  # no column cut off
    cells = page.locator("td.field-last_error")
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box["x"] + box["width"] <= 1280


def test_it_shows_a_read_only_change_page(sandbox, page, staff, owner, make_integration):
    integration = make_integration(owner, last_sync_status="error", last_sync_message=OPERATOR_TEXT)
    page.set_viewport_size({"width": 1280, "height": 900})
    admin_log_in(page, sandbox.base_url)
    page.goto(f"{sandbox.base_url}/admin/integrations/integration/{integration.pk}/change/")
    screenshot(page, "admin-change-1280")
    assert page.get_by_role("heading", name="OAuth credential", exact=True).is_visible()
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("a.deletelink").count() == 0
