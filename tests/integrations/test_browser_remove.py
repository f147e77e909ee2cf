"""Removing a disconnected integration and its data, in a real browser."""

import re

import pytest

from gbp.models import GbpLocation
from integrations.models import Integration
from tests.conftest import screenshot
from tests.helpers import gbp_locations, log_in

pytestmark = pytest.mark.browser


def test_it_removes_a_disconnected_integration_after_a_confirmation(connected, sandbox, page,
                                                                     client):
    gbp_locations(connected, ["Bakery number 0", "Bakery number 1"], days=30)
    client.post(f"/integrations/{connected.pk}/disconnect/")
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")

    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    assert page.get_by_text("it is no longer updated").is_visible()
    screenshot(page, "remove-1-detail-disconnected")

    page.goto(f"{sandbox.base_url}/integrations/")
    card = page.locator("article.card[data-status=disconnected]")
    assert "Last sync" not in card.inner_text()
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("button", name="Remove").click()
    assert Integration.objects.filter(pk=connected.pk).exists()  # dismissed: nothing removed

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Remove").click()
    page.wait_for_selector("text=and the data synced from it")
    screenshot(page, "remove-2-removed")
    assert page.locator("article.card[data-status=disconnected]").count() == 0
    assert not Integration.objects.filter(pk=connected.pk).exists()
    assert not GbpLocation.objects.exists()
