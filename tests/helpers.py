"""Small helpers shared by the tests that drive the connect flow over real HTTP."""

import re
import signal
import socket
import subprocess
import time
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


def free_port() -> int:
    """A TCP port on loopback that nobody listens on (until someone binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server for one test, which it may pause (SIGSTOP: connections are
    accepted by the kernel, nothing answers), resume (SIGCONT) or stop."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        for _ in range(100):  # ready within a few seconds
            try:
                client.ping()
                return self
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait(timeout=10)


# The JSON API (integrations/api/), as the demo host mounts it.
API = "/integrations/api/v1/"


def api_call(client, method, path, body=None, **headers):
    """One JSON API call with a Django test client: (status, the parsed body or None)."""
    kwargs = {"content_type": "application/json"} if body is not None else {}
    if body is not None:
        kwargs["data"] = body
    response = getattr(client, method.lower())(API + path, **kwargs, **headers)
    data = response.json() if response.content and "json" in response.get(
        "Content-Type", "") else None
    return response.status_code, data


def api_connect(client, sandbox, user, path="integrations/connect", body=None, **consent):
    """Start a connect (or reconnect: `path`) through the API, consent at the sandbox as `user`,
    follow the provider's redirect to our callback. Returns the callback's response (a redirect
    to the frontend, with the outcome in its query)."""
    status, data = api_call(client, "POST", path, body if body is not None else {
        "provider": "sandbox"})
    assert status == 200, (status, data)
    return finish(client, sandbox.consent(user, data["authorize_url"], **consent))


def outcome_of(response) -> dict:
    """The outcome query of the callback's redirect back to the frontend."""
    assert response.status_code == 302, response.status_code
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def is_error_shape(data) -> bool:
    return isinstance(data, dict) and set(data) == {"code", "message", "requires_reauth",
                                                    "retry_after"}


def _team_adapter():
    from accounts.adapters import TeamAdapter

    return TeamAdapter


class TokenAdapter(_team_adapter()):
    """The demo's adapter, plus a bearer credential of its own for the API: `Bearer
    token-of-<username>` (a host issues real ones)."""

    def api_authenticate(self, request):
        from django.contrib.auth import get_user_model

        given = request.headers.get("Authorization", "")
        if not given.startswith("Bearer token-of-"):
            return None
        return get_user_model().objects.filter(
            username=given.removeprefix("Bearer token-of-")).first()


def gbp_locations(integration, titles, *, end=None, days=0, value=None, reviews=()):
    """Business Profile locations of `integration` with `days` of daily metrics up to `end`
    (value(location index, metric, day) -> int; default 1) and reviews (dicts of GbpReview
    fields, given to every location). Written directly: exact numbers for the pages' tests."""
    from datetime import date, timedelta

    from gbp import rollup
    from gbp.models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
    from gbp.parse import METRICS

    end = end or date(2026, 11, 30)
    account, _ = GbpAccount.objects.get_or_create(integration=integration, name="accounts/1")
    first = GbpLocation.objects.filter(integration=integration).count()
    rows = [GbpLocation.objects.create(integration=integration, account=account,
                                       name=f"locations/{first + n}", title=title,
                                       address=f"{n} Main Street")
            for n, title in enumerate(titles)]
    GbpDailyMetric.objects.bulk_create(
        GbpDailyMetric(location=loc, metric=metric, date=end - timedelta(days=d),
                       value=value(n, metric, end - timedelta(days=d)) if value else 1)
        for n, loc in enumerate(rows) for metric in METRICS for d in range(days))
    rollup.rebuild([loc.pk for loc in rows])
    GbpReview.objects.bulk_create(
        GbpReview(location=loc, review_id=f"r{loc.pk}-{i}", **fields)
        for loc in rows for i, fields in enumerate(reviews))
    return rows


def csp_violations(page, console):
    """The CSP violations a `watched` page reported, and those its console logged."""
    reported = page.evaluate("window.__violations")
    logged = [text for text in console if "Content Security Policy" in text]
    return reported + logged


def wait_until_syncing(integration, timeout=30):
    """Until a sync of `integration` (run by a test's thread, as a worker would) holds its lease
    and runs: on a loaded machine the thread can start after a page has already loaded."""
    import time

    from gbp.models import GbpSyncState

    running = GbpSyncState.objects.filter(integration=integration,
                                          status=GbpSyncState.Status.RUNNING)
    deadline = time.monotonic() + timeout
    while not running.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
