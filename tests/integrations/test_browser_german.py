"""German end to end, in a real browser: a user switches the demo to Deutsch with the site's
language switcher, and from then on reads German everywhere: the integrations page, the
sandbox's consent page, the connect error page, the Business Profile page after a sync (its
charts' month names too), and the re-auth email, written in the language the user chose even
though no request of theirs is under way when it is sent."""

import re

import pytest
from django.core import mail

from integrations import tokens
from integrations.models import Integration
from sandbox.conf import GBP_SCOPE
from tests.conftest import screenshot
from tests.helpers import log_in

pytestmark = pytest.mark.browser

# Words of the English pages, looked for as whole words (case-sensitive): none may be left.
ENGLISH = ["Connect", "Disconnect", "My integrations", "Reconnect", "Sync now", "Needs reconnect",
           "Connected", "Connected since", "Some permissions were not granted",
           "Missing permissions", "Try again", "Impressions", "Calls", "Website clicks",
           "Directions", "locations", "location(s)", "Synced", "Sync finished", "Sync failing",
           "Last sync", "History", "View data", "Allow", "Deny", "wants to access",
           "Log out", "Add another account", "Reconnect to continue", "says our access",
           "Never synced", "Token refresh", "Hello", "stopped working", "You are receiving",
           # Month names the two languages do not share (a chart's day labels).
           "January", "February", "March", "May", "June", "July", "October", "December"]
GERMAN_DAY = re.compile(r"\d{1,2}\. (Januar|Februar|März|April|Mai|Juni|Juli|August|September|"
                        r"Oktober|November|Dezember)")


def english_in(text: str) -> list[str]:
    return [words for words in ENGLISH if re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text)]


def shown(page) -> str:
    """What the page says: its title, its text, the words in its attributes (a confirmation, a
    label), and its charts' text."""
    return page.evaluate("""() => {
        const names = ["title", "aria-label", "data-confirm", "data-syncing-label", "placeholder"];
        const parts = [document.title, document.body.innerText];
        for (const el of document.querySelectorAll(names.map(n => `[${n}]`).join(",")))
            for (const name of names) if (el.getAttribute(name)) parts.push(el.getAttribute(name));
        for (const el of document.querySelectorAll("svg title, svg text")) parts.push(el.textContent);
        return parts.join("\\n");
    }""")


def in_german(page, name, *german):
    """The page is in German: its `lang`, the German words expected, no English word left."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", "de")
    screenshot(page, f"german-{name}")
    text = shown(page)
    for words in german:
        assert words in text, (name, words, text[:3000])
    assert not english_in(text), (name, english_in(text))
    return text


def test_it_speaks_german_everywhere_once_the_user_switches(sandbox, page, owner):
    from playwright.sync_api import expect

    log_in(page, sandbox.base_url, "alice", "pw-alice-1")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # English by default
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    owner.refresh_from_db()
    assert owner.language == "de"  # kept for what is sent to alice
    in_german(page, "index-empty", "Meine Integrationen", "Konto verbinden", "Abmelden",
              "Standorte, tägliche Leistungskennzahlen und Rezensionen.")

    # Connect, untick the permission the product needs: the consent page and the error page.
    card = page.locator("article.card", has_text="Google Business Profile (sandbox)")
    card.get_by_role("link", name="Verbinden").click()
    page.wait_for_selector("#authorizationForm")
    in_german(page, "consent", "möchte auf Ihr Konto zugreifen", "Zulassen", "Ablehnen")
    page.locator(f"input[name=grant_scope][value='{GBP_SCOPE}']").uncheck()
    page.locator("#allow").click()
    page.wait_for_url(re.compile(r"/integrations/callback/sandbox/"))
    in_german(page, "connect-error", "Einige Berechtigungen wurden nicht erteilt",
              "Fehlende Berechtigungen:", "benötigt diese Berechtigungen")
    assert not Integration.objects.exists()

    # Try again, grant everything, sync: the Business Profile page with its charts.
    page.get_by_role("link", name="Erneut versuchen").click()
    page.wait_for_selector("#authorizationForm")
    page.locator("#allow").click()
    page.wait_for_url(re.compile(r"/integrations/$"))
    in_german(page, "index-connected", "Google Business Profile (sandbox) verbunden:",
              "Verbunden seit", "Daten ansehen", "Jetzt synchronisieren")
    page.get_by_role("link", name="Daten ansehen").click()
    page.locator("#sync-now button").click()
    expect(page.locator(".msg-success")).to_have_text("Synchronisierung abgeschlossen.",
                                                      timeout=30000)
    text = in_german(page, "gbp-detail", "9 Standorte synchronisiert:",
                     "Übersicht über 9 Standorte", "Impressionen", "Anrufe", "Website-Klicks",
                     "Routenanfragen", "Standorte suchen", "Verlauf", "Synchronisierung")
    assert "Synchronisierung abgeschlossen." in text
    page.locator("table.locations tbody th a").first.click()
    in_german(page, "gbp-location", "Impressionen, letzte 28 Tage", "Rezensionen",
              "Nur unbeantwortete")
    days = page.locator("svg.chart text.axis").all_text_contents()
    days = [day for day in days if re.search(r"[^\d\s.,]", day)]  # not the counts
    assert days and all(GERMAN_DAY.fullmatch(day) for day in days), days
    page.go_back()

    # The grant breaks while alice is away: the email is in German, then the page says so.
    integration = Integration.objects.get(provider="sandbox")
    mail.outbox.clear()
    tokens.mark_reauth_required(integration, "invalid_grant", "Token has been expired or revoked.")
    (message,) = mail.outbox
    email = f"{message.subject}\n{message.body}"
    assert message.subject.startswith("Bitte verbinden Sie Ihr Konto bei"), message.subject
    assert "Guten Tag alice," in message.body and "meldet, dass unser Zugriff" in message.body
    assert not english_in(email), english_in(email)
    page.goto(f"{sandbox.base_url}/integrations/")
    in_german(page, "index-reauth", "Erneute Verbindung nötig", "Erneut verbinden",
              "Verbinden Sie das Konto erneut, um fortzufahren.")
