"""Small helpers shared by the tests that drive the connect flow over real HTTP."""

import re
from io import StringIO
from urllib.parse import parse_qs, urlsplit

from django.core.management import call_command

from integrations.models import Integration


def start(client, provider="sandbox", query=""):
    """GET the connect URL; return the provider authorization URL it redirects to."""
    r = client.get(f"/integrations/connect/{provider}/{query}")
    assert r.status_code == 302, r.status_code
    return r["Location"]


def finish(client, redirect_back):
    """Follow the provider's redirect back to our callback, in the test client's session."""
    parts = urlsplit(redirect_back)
    return client.get(parts.path, parse_qs(parts.query))


def connect(client, sandbox, user, provider="sandbox", query="", **consent):
    """The whole flow: connect, consent at the sandbox as `user`, callback. Returns the response."""
    return finish(client, sandbox.consent(user, start(client, provider, query), **consent))


def state_of(authorize_url):
    return parse_qs(urlsplit(authorize_url).query)["state"][0]


def page_text(response):
    return response.content.decode()


def no_integrations():
    return not Integration.objects.exists()


def run_command(name, *args):
    """A management command's (exit code, stdout); the commands exit 1 when something failed."""
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
        return 0, out.getvalue()
    except SystemExit as exc:
        return exc.code, out.getvalue()


def log_in(page, base, username, password):
    """Log in through the demo's login page in a Playwright page."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/integrations/$"))


def configure_provider(settings, key, **fields):
    """Set fields of INTEGRATIONS_PROVIDERS[key] (a provider id, or "google" for both Google
    providers) in pytest-django's `settings`, keeping the rest."""
    providers = dict(settings.INTEGRATIONS_PROVIDERS)
    providers[key] = {**providers.get(key, {}), **fields}
    settings.INTEGRATIONS_PROVIDERS = providers
