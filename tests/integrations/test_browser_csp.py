"""In a real browser, under the pages' Content-Security-Policy: the page's own scripts and
styles run and apply (Disconnect still asks first, Sync now still shows its progress), and the
browser reports no violation. A control proves the policy is enforced and violations are seen."""

import re

import pytest

from integrations.models import Integration
from tests.helpers import csp_violations, log_in

pytestmark = pytest.mark.browser

ACCENT = "rgb(9, 105, 218)"
def test_it_asks_before_disconnecting_under_the_policy(connected, sandbox, watched):
    page, console = watched
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    response = page.goto(f"{sandbox.base_url}/integrations/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    card = page.locator("article.card[data-status=active]")
    assert page.locator(".btn-primary").first.evaluate(
        "e => getComputedStyle(e).backgroundColor") == ACCENT  # the stylesheet applies

    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    card.get_by_role("button", name="Disconnect").click()
    page.wait_for_timeout(300)  # a submit not stopped by the dialog would navigate now
    assert asked and asked[0].startswith("Disconnect Google Business Profile (sandbox) (")
    assert asked[0].endswith("? Access is revoked at the provider.")
    connected.refresh_from_db()
    assert connected.status == "active"  # dismissed: nothing sent

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector("article.card[data-status=disconnected]")
    assert Integration.objects.get(pk=connected.pk).status == "disconnected"

    # Remove asks once too, though a page may include the assets twice.
    page.evaluate("""() => { const s = document.createElement("script");
        s.src = document.querySelector("script[src*='confirm.js']").src;
        document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("article.card[data-status=disconnected]").get_by_role(
        "button", name="Remove").click()
    page.wait_for_timeout(300)
    assert len(questions) == 1 and questions[0].startswith("Remove ")
    assert csp_violations(page, console) == []


def test_it_runs_the_gbp_pages_script_under_the_policy(connected, sandbox, watched, settings):
    page, console = watched
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/gbp/{connected.pk}/")
    page.evaluate("""() => document.getElementById("sync-now")
        .addEventListener("submit", e => e.preventDefault())""")
    button = page.locator("#sync-now button")
    button.click()
    assert button.is_disabled() and button.inner_text().strip() == "Syncing…"  # sync.js ran
    assert csp_violations(page, console) == []


def test_it_reports_what_the_policy_blocks(connected, sandbox, watched):
    """The control: an inline script on these pages is refused, and seen (inline styles are
    allowed: a host layout's)."""
    page, console = watched
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    page.goto(f"{sandbox.base_url}/integrations/")
    page.evaluate("""() => {
        const s = document.createElement("script"); s.textContent = "window.__ran = true";
        document.body.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === undefined")
    found = csp_violations(page, console)
    assert any(re.match(r"script-src", v) for v in found), found


def test_it_lets_the_sandbox_consent_page_send_the_user_back(sandbox, watched, owner):
    page, console = watched
    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    card = page.locator("article.card", has_text="Google Business Profile (sandbox)")
    card.get_by_role("link", name="Connect").click()
    page.wait_for_url(re.compile(r"/sandbox/o/authorize/"))
    page.click("#allow")
    page.wait_for_url(re.compile(r"/integrations/$"))
    assert Integration.objects.filter(connected_by=owner).exists()
    assert csp_violations(page, console) == []
