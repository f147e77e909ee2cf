"""Test helpers: drive the sandbox provider over real HTTP from a test.

In a host app's tests, enable the pytest plugin (`pytest_plugins = ["sandbox.pytest_plugin"]`) and
ask for the `sandbox` fixture: it serves the project on a live loopback server, registers the OAuth
client there, and points the product's `sandbox` provider at it.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.test import Client

from . import ops
from .conf import provider_declaration


class _FormParser(HTMLParser):
    """Collects the consent form's inputs (hidden fields, CSRF token, checked scopes), not those
    of the other forms a host's layout puts on the page (its language switcher, its log-out)."""

    def __init__(self):
        super().__init__()
        self.fields = []
        self.inside = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == "authorizationForm"
        if tag != "input" or not attrs.get("name") or not self.inside:
            return
        if attrs.get("type") == "checkbox" and "checked" not in attrs:
            return
        if attrs.get("type") == "submit":
            return
        self.fields.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


class Sandbox:
    """A handle on the sandbox served at `base_url`."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def url(self, path: str) -> str:
        return urljoin(self.base_url + "/sandbox/", path.lstrip("/"))

    @property
    def token_url(self):
        return self.url("o/token/")

    @property
    def api_endpoint(self):
        return self.url("gbp/")

    # Fault knobs and grant controls (see ops for the details).
    def inject(self, endpoint, kind, times=1, **kwargs):
        return ops.inject(endpoint, kind, times, **kwargs)

    def clear(self):
        return ops.clear_faults()

    def expire_tokens(self, user):
        return ops.expire_tokens(user)

    def revoke_grant(self, user):
        return ops.revoke_grant(user)

    def revoke_access_tokens(self, user):
        return ops.revoke_access_tokens(user)

    @property
    def introspection_url(self):
        return self.url("o/introspect/")

    def calls(self, endpoint=None, detail=None):
        return ops.calls(endpoint, detail)

    def token_requests(self, grant_type=None):
        return ops.calls("token", grant_type)

    def browser(self, user) -> requests.Session:
        """A requests session signed in to the site as `user` (the sandbox's account holder)."""
        client = Client()
        client.force_login(user)
        session = requests.Session()
        session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
        return session

    def consent(self, user, authorize_url, *, allow=True, drop_scopes=()) -> str:
        """Open the consent page as `user`, press Allow or Deny; return the redirect back.

        `drop_scopes` unticks scopes on the consent page (Google's granular consent).
        """
        session = self.browser(user)
        page = session.get(authorize_url, allow_redirects=False, timeout=10)
        if page.status_code in (301, 302):
            return page.headers["Location"]  # an error redirect, before any consent
        page.raise_for_status()
        parser = _FormParser()
        parser.feed(page.text)
        form = [(k, v) for k, v in parser.fields if not (k == "grant_scope" and v in drop_scopes)]
        if allow:
            form.append(("allow", "Authorize"))
        answer = session.post(
            authorize_url, data=form, allow_redirects=False, timeout=10,
            headers={"Referer": authorize_url},
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        return answer.headers["Location"]


def point_product_at(base_url: str, settings_obj) -> None:
    """Point the product's `sandbox` provider and redirect URIs at a sandbox on `base_url`."""
    settings_obj.INTEGRATIONS_BASE_URL = base_url.rstrip("/")
    providers = dict(settings_obj.INTEGRATIONS_PROVIDERS)
    providers["sandbox"] = provider_declaration(
        base_url, settings_obj.SANDBOX_CLIENT_ID, settings_obj.SANDBOX_CLIENT_SECRET
    )
    settings_obj.INTEGRATIONS_PROVIDERS = providers
    ops.register_client([base_url.rstrip("/") + "/integrations/callback/sandbox/"])
