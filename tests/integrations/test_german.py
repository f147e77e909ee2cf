"""The pages and the notice email in German: the product's own words are translated.

The demo host chooses each request's language with LocaleMiddleware: here the language cookie
the site's switcher sets (tests/integrations/test_browser_german.py clicks the switcher). Only
the product's markup (`<div class="stay-connected">`) is read: the host's layout is the host's.
Provider names are names, not looked for. The email is written in its recipient's language,
whatever the process has active.
"""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation

from integrations import tokens
from integrations.templatetags.integrations_tags import ago, from_now

ENGLISH = ["Connect", "Disconnect", "My integrations", "Reconnect", "Sync now", "Connect again",
           "Remove", "View data", "Connected since", "Permissions", "Last renewed", "Last sync",
           "valid", "renews", "just now", "ago", "Add another account", "Connect an account",
           "says our access was revoked", "Reconnect to continue"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
READ_ATTRIBUTES = {"title", "aria-label", "data-confirm", "data-syncing-label", "placeholder"}


class ProductText(HTMLParser):
    """The text a user reads (and is asked) inside the product's own markup."""

    def __init__(self):
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        inside = self.depth or "stay-connected" in (attrs.get("class") or "").split()
        if inside and tag not in VOID:
            self.depth += 1
        if inside:
            self.parts += [v for k, v in attrs.items() if k in READ_ATTRIBUTES and v]

    def handle_endtag(self, tag):
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def product_text(response) -> str:
    parser = ProductText()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def english_in(text: str) -> list[str]:
    return [words for words in ENGLISH if re.search(rf"\b{re.escape(words)}\b", text)]


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def german(client):
    """The client asks for German (the switcher's cookie); code run outside a request too."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    with translation.override("de"):
        yield


def test_it_shows_the_integrations_page_in_german(db, logged_in, owner, make_integration,
                                                  german):
    make_integration(owner, "sandbox", display_name="laden@example.com",
                     last_refreshed_at=timezone.now() - timedelta(days=2))
    tokens.mark_reauth_required(make_integration(owner, "sandbox", display_name="cafe@example.com"),
                                "invalid_grant", "Token has been expired or revoked.")
    make_integration(owner, "sandbox", display_name="alt@example.com", status="disconnected")
    text = product_text(logged_in.get("/integrations/"))
    assert "laden@example.com" in text and "cafe@example.com" in text
    for german_words in ("Meine Integrationen", "Jetzt synchronisieren", "Erneut verbinden",
                         "Trennen", "Wieder verbinden", "Entfernen", "Daten ansehen",
                         "Verbunden seit", "Zuletzt erneuert", "vor 2 Tagen", "gültig, wird in",
                         "meldet, dass unser Zugriff widerrufen wurde",
                         "Verbinden Sie das Konto erneut, um fortzufahren.",
                         "Weiteres Konto hinzufügen", "Konto verbinden",
                         "trennen? Der Zugriff wird beim Anbieter widerrufen."):
        assert german_words in text, german_words
    assert not english_in(text), english_in(text)


def test_it_offers_connect_in_german(db, logged_in, german):
    text = product_text(logged_in.get("/integrations/"))
    assert "Noch nichts verbunden." in text and "Verbinden" in text
    assert not english_in(text), english_in(text)


def test_it_dates_the_page_in_the_users_language(db, logged_in, owner, make_integration):
    from integrations.models import Integration

    integration = make_integration(owner, "sandbox")
    Integration.objects.filter(pk=integration.pk).update(
        created_at=timezone.now().replace(year=2026, month=3, day=5, hour=12))
    assert "March 5, 2026" in product_text(logged_in.get("/integrations/"))  # English by default
    logged_in.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert "5. März 2026" in product_text(logged_in.get("/integrations/"))


def test_it_shows_the_gbp_page_in_german(db, logged_in, owner, make_integration, german):
    from tests.helpers import gbp_locations

    integration = make_integration(owner, "sandbox")
    locations = gbp_locations(integration, ["Bäckerei", "Café"], days=60, value=lambda *a: 1500,
                              reviews=[{"star_rating": 4, "comment": "Gut"}])
    text = product_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert "Übersicht über 2 Standorte" in text and "168.000" in text  # 4 x 1,500 x 28 days
    assert "2 unbeantwortete Rezensionen" in text and "Standorte suchen" in text
    assert "Jetzt synchronisieren" in text and "Meine Integrationen" in text
    assert "Wird synchronisiert…" in text  # the label sync.js shows
    assert not english_in(text), english_in(text)
    text = product_text(logged_in.get(f"/integrations/gbp/{integration.pk}/locations/"
                                      f"{locations[0].pk}/"))
    assert "Impressionen, letzte 28 Tage" in text and "Antwort veröffentlichen" in text
    assert "1 Stern" in text and "5 Sterne" in text
    assert not english_in(text), english_in(text)
    text = product_text(logged_in.get(f"/integrations/gbp/{integration.pk}/reviews/"))
    assert "Unbeantwortete Rezensionen" in text and not english_in(text), english_in(text)


def test_it_says_when_in_german():
    now = timezone.now()
    with translation.override("de"):
        assert ago(now) == "gerade eben"
        assert ago(now - timedelta(days=2, hours=3)) == "vor 2\xa0Tagen, 3\xa0Stunden"
        assert from_now(now + timedelta(seconds=20)) == "in weniger als einer Minute"
        assert from_now(now + timedelta(minutes=42, seconds=30)) == "in 42\xa0Minuten"
    assert ago(now - timedelta(days=1)) == "1\xa0day ago"  # English stays the default


def test_it_emails_the_owner_in_german(db, owner, make_integration,
                                       django_capture_on_commit_callbacks):
    owner.language = "de"  # chosen with the site's switcher
    owner.save()
    integration = make_integration(owner, "sandbox", display_name="laden@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert tokens.mark_reauth_required(integration, "invalid_grant", "revoked")
    message = mail.outbox[0]
    assert message.subject == ("Bitte verbinden Sie Ihr Konto bei Google Business Profile "
                               "(sandbox) erneut")
    assert message.body.startswith(f"Guten Tag {owner.get_username()},")
    assert ("Ihre Verbindung zu Google Business Profile (sandbox) (laden@example.com) "
            "funktioniert nicht mehr") in message.body
    assert "meldet, dass unser Zugriff widerrufen wurde oder abgelaufen ist." in message.body
    assert "Sie erhalten diese E-Mail nur einmal" in message.body
    for english in ("Hello", "Reconnect", "stopped working", "You are receiving", "says our"):
        assert english not in message.subject + message.body, english


def test_it_emails_each_recipient_in_their_own_language(db, owner, make_integration,
                                                       django_capture_on_commit_callbacks):
    """Written for the recipient, not in the language that happens to be active (a German
    request, a worker): alice chose no language, so hers is the site's, English."""
    integration = make_integration(owner, "sandbox", display_name="laden@example.com")
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        assert tokens.mark_reauth_required(integration, "invalid_grant", "revoked")
    message = mail.outbox[0]
    assert message.body.startswith(f"Hello {owner.get_username()},")
    assert "Guten Tag" not in message.body


def test_it_words_the_last_sync_in_the_readers_language(db, logged_in, owner, make_integration,
                                                        german):
    from gbp.models import GbpSyncState
    from gbp.result import english_text

    counts = {"total": 1200, "updated": 3, "metric_values": 36000, "reviews": 5, "removed": 0,
              "calls": 1250}
    integration = make_integration(owner, "sandbox", last_sync_status="ok",
                                   last_synced_at=timezone.now(),
                                   last_sync_message=english_text(counts))
    GbpSyncState.objects.create(integration=integration, last_summary=counts)
    text = product_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert ("1.200 Standorte synchronisiert: 3 aktualisiert, 36.000 Messwerte und "
            "5 Rezensionen geschrieben, nichts entfernt. 1.250 Anfragen an Google.") in text
    assert "Synced" not in text


def test_it_shows_the_stored_words_of_a_sync_from_before_the_counts(db, logged_in, owner,
                                                                     make_integration):
    integration = make_integration(owner, "sandbox", last_sync_status="ok",
                                   last_synced_at=timezone.now(),
                                   last_sync_message="Synced 2 location(s): 2 updated.")
    text = product_text(logged_in.get(f"/integrations/gbp/{integration.pk}/"))
    assert "Synced 2 location(s): 2 updated." in text
