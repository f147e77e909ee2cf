"""The reply loop in a real browser, on the sandbox's large-account fixture (agency-40x5: 40
locations, 5 reviews each): reply on a location's page, see it at once, edit it, delete it; a
quota refusal keeps the typed text; a reply survives the next sync; the bulk page answers two at
once. At 1280 and 390 px."""

import re

import pytest
from django.test import Client

from gbp.models import GbpReview
from gbp.sync import GbpSyncService
from integrations import http
from integrations.models import Integration
from tests.conftest import screenshot
from tests.helpers import connect, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def agency(sandbox, django_user_model, settings, monkeypatch):
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)
    user = django_user_model.objects.create_user("agency-40x5", "agency@example.com",
                                                 "pw-agency-1")
    client = Client()
    client.force_login(user)
    assert connect(client, sandbox, user).status_code == 302
    integration = Integration.objects.get(connected_by=user)
    assert GbpSyncService().sync(integration).ok
    return integration


@pytest.mark.parametrize("width", [1280, 390])
def test_it_replies_edits_and_deletes_in_a_browser(agency, sandbox, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, sandbox.base_url, "agency-40x5", "pw-agency-1")
    review = (GbpReview.objects.filter(location__integration=agency, reply_comment="")
              .select_related("location").order_by("-create_time").first())
    page.goto(f"{sandbox.base_url}/integrations/gbp/{agency.pk}/")
    assert page.locator("table.locations tbody tr").count() == 25
    page.goto(f"{sandbox.base_url}/integrations/gbp/{agency.pk}/locations/"
              f"{review.location_id}/?unanswered=1")
    item = page.locator(f"#review-{review.pk}")
    item.get_by_label("Reply").fill("Thank you for the kind words!")
    item.get_by_role("button", name="Post reply").click()
    page.wait_for_url(re.compile(rf"#review-{review.pk}$"))
    assert page.get_by_text("Reply posted.").is_visible()
    item = page.locator(f"#review-{review.pk}")
    assert item.get_by_text("Thank you for the kind words!").first.is_visible()
    screenshot(page, f"reply-posted-{width}", full_page=False)

    item.get_by_text("Edit reply").click()
    item.locator("textarea").fill("Thank you, see you soon!")
    item.get_by_role("button", name="Save reply").click()
    assert page.get_by_text("Reply updated.").is_visible()

    # Google's quota is used up: the page comes back with the text typed and the reason.
    sandbox.inject("reply", "429")
    item = page.locator(f"#review-{review.pk}")
    item.get_by_text("Edit reply").click()
    item.locator("textarea").fill("A third version, typed with care")
    item.get_by_role("button", name="Save reply").click()
    alert = page.locator(f"#review-{review.pk} [role=alert]")
    assert "quota" in alert.inner_text()
    assert page.locator(f"#review-{review.pk} textarea").input_value() == (
        "A third version, typed with care")
    screenshot(page, f"reply-refused-{width}", full_page=False)

    # The next sync keeps the reply Google has.
    assert GbpSyncService().sync(agency).ok
    assert GbpReview.objects.get(pk=review.pk).reply_comment == "Thank you, see you soon!"

    page.goto(f"{sandbox.base_url}/integrations/gbp/{agency.pk}/locations/{review.location_id}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#review-{review.pk}").get_by_role("button", name="Delete reply").click()
    assert page.get_by_text("Reply deleted.").is_visible()
    assert GbpReview.objects.get(pk=review.pk).reply_comment == ""


def test_it_answers_unanswered_reviews_in_bulk_in_a_browser(agency, sandbox, page):
    log_in(page, sandbox.base_url, "agency-40x5", "pw-agency-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{agency.pk}/")
    page.get_by_role("link", name=re.compile(r"unanswered reviews")).click()
    page.wait_for_url(re.compile(r"/reviews/$"))
    boxes = page.locator("ul.reviews textarea")
    assert boxes.count() == 20
    boxes.nth(0).fill("Thanks!")
    boxes.nth(1).fill("Thank you!")
    page.get_by_role("button", name="Post the replies typed above").click()
    assert page.get_by_text("2 replies posted.").is_visible()
    assert sandbox.calls("reply") == 2
