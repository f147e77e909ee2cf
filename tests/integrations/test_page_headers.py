"""Every page the apps serve carries a strict Content-Security-Policy and has nothing inline for
it to block (no inline script, no event handler attribute, no <style>); every page and answer
that shows account data, and the monitors' endpoints, say `Cache-Control: no-store`."""

import re
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from integrations import security
from tests.helpers import gbp_locations, page_text, start

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
          "form-action 'self'")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b", re.IGNORECASE)
LOGIN_REQUIRED = "/accounts/login/"


def assert_nothing_inline(response):
    html = page_text(response)
    assert "<" in html
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not HANDLER.search(html), HANDLER.search(html).group(0)
    assert not STYLE.search(html)


def assert_no_store(response):
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")


@pytest.fixture
def pages(connected, sandbox, client, owner, make_integration):
    """The apps' pages, as their owner sees them, with an integration in each state."""
    gbp_locations(connected, ["Bakery number 0", "Bakery number 1"], days=30)
    make_integration(owner, "sandbox", status="disconnected")
    gone = make_integration(owner, "sandbox", status="reauth_required")
    return {
        "index": client.get("/integrations/"),
        "connect error": client.get("/integrations/callback/sandbox/", {"state": "forged"}),
        "gbp detail": client.get(f"/integrations/gbp/{connected.pk}/"),
        "gbp detail, needs reconnect": client.get(f"/integrations/gbp/{gone.pk}/"),
    }


def test_it_sends_the_policy_on_every_page(pages):
    for name, response in pages.items():
        assert response.status_code in (200, 403), name
        assert response["Content-Security-Policy"] == POLICY, name


def test_it_serves_no_inline_script_handler_or_style(pages, client, connected):
    for response in pages.values():
        assert_nothing_inline(response)
    # The confirmations are attributes a static script reads.
    assert 'data-confirm="Disconnect ' in page_text(pages["index"])
    assert 'data-confirm="Remove ' in page_text(pages["index"])
    assert "integrations/confirm.js" in page_text(pages["index"])
    client.post(f"/integrations/{connected.pk}/disconnect/")
    disconnected = client.get(f"/integrations/gbp/{connected.pk}/")
    assert 'data-confirm="Remove ' in page_text(disconnected)
    assert_nothing_inline(disconnected)


def test_it_stores_no_page_or_answer_with_account_data(pages, client, connected, staff):
    for response in pages.values():
        assert_no_store(response)
    assert_no_store(client.get(f"/integrations/gbp/{connected.pk}/sync/status/"))
    client.force_login(staff)
    for url in ("/integrations/health/", "/integrations/metrics/"):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_store(response)


def test_it_stores_no_monitor_answer_given_with_a_bearer_token(db, client, settings):
    settings.INTEGRATIONS_HEALTH_TOKEN = "health-token-for-the-monitor"
    for url in ("/integrations/health/", "/integrations/metrics/"):
        response = client.get(url, HTTP_AUTHORIZATION="Bearer health-token-for-the-monitor")
        assert response.status_code == 200
        assert_no_store(response)


def test_it_sends_the_sandboxs_own_policy_on_its_pages(sandbox, client, staff):
    client.force_login(staff)
    index = client.get("/sandbox/")
    assert index.status_code == 200 and "Inject a fault" in page_text(index)
    authorize = urlsplit(start(client))
    consent = client.get(authorize.path + "?" + authorize.query)
    assert consent.status_code == 200 and "wants to access your account" in page_text(consent)
    for response in (index, consent):
        assert response["Content-Security-Policy"].startswith(POLICY)
        assert_nothing_inline(response)
    # Allow and Deny send the browser on to the client's redirect URI.
    assert consent["Content-Security-Policy"] == f"{POLICY} {sandbox.base_url}"


def test_it_serves_the_demo_hosts_pages_without_anything_inline(db, client, owner):
    for url in ("/accounts/login/", "/accounts/signup/"):
        assert_nothing_inline(client.get(url))
    client.force_login(owner)
    assert_nothing_inline(client.get("/integrations/"))  # the layout's top bar and log-out form


def view_answering(html, **headers):
    def view(request):
        response = HttpResponse(html)
        for name, value in headers.items():
            response[name] = value
        return response
    return security.page_headers(view)


def test_it_leaves_a_policy_the_response_already_has(db):
    own = "default-src 'self' https://cdn.example.com"
    view = view_answering("<p>hi</p>", **{"Content-Security-Policy": own})
    assert view(RequestFactory().get("/"))["Content-Security-Policy"] == own


def test_it_leaves_the_policy_to_a_host_that_runs_its_own_csp_middleware(db, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "csp.middleware.CSPMiddleware"]
    view = view_answering("<p>hi</p>")
    assert "Content-Security-Policy" not in view(RequestFactory().get("/"))


def test_it_sends_the_policy_the_host_sets_or_none(db, settings):
    settings.INTEGRATIONS_CONTENT_SECURITY_POLICY = "default-src 'self' https://cdn.example"
    view = view_answering("<p>hi</p>")
    assert view(RequestFactory().get("/"))["Content-Security-Policy"] == (
        "default-src 'self' https://cdn.example")
    settings.INTEGRATIONS_CONTENT_SECURITY_POLICY = ""
    assert "Content-Security-Policy" not in view(RequestFactory().get("/"))

