pytest_plugins = ["sandbox.pytest_plugin"]

import itertools
import os
from pathlib import Path
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Integration, OAuthCredential

_seq = itertools.count(1)


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "pw-alice-1")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "carol", "carol@example.com", "pw-carol-1", is_staff=True, is_superuser=True
    )


def owner_of(user):
    """The owner a user's integrations belong to: their own team in the demo host (every user
    has one from sign-up), whatever the host's adapter says first."""
    from integrations.adapter import get_adapter

    return list(get_adapter().owners_for(user))[0]


def create_integration(user, provider="google_business_profile", *, expires_in=3600, **fields):
    """An integration of `user`'s own team, connected by them, with a credential whose tokens
    are unique, recognisable strings."""
    n = next(_seq)
    cred_fields = {
        "access_token": fields.pop("access_token", f"ya29.access-token-{n}-SECRET"),
        "refresh_token": fields.pop("refresh_token", f"1//refresh-token-{n}-SECRET"),
        "expires_at": timezone.now() + timedelta(seconds=expires_in),
        "scopes": fields.pop("scopes", ["openid", "email"]),
    }
    for name in list(fields):
        if name in {f.name for f in OAuthCredential._meta.fields}:
            cred_fields[name] = fields.pop(name)
    integration = Integration.objects.create(
        owner=fields.pop("owner", None) or owner_of(user), connected_by=user,
        provider=provider,
        external_id=fields.pop("external_id", f"acct-{n}"),
        display_name=fields.pop("display_name", f"account{n}@example.com"),
        **fields,
    )
    OAuthCredential.objects.create(integration=integration, **cred_fields)
    return integration


@pytest.fixture
def make_integration():
    return create_integration


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str):
    """Skip on a laptop that lacks a service; under CI=true a missing service is a failure."""
    if condition:
        return
    if _in_ci():
        pytest.fail(f"CI requires this: {reason}")
    pytest.skip(reason)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    need(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright Python package is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


# Collects the browser's CSP violation reports in the page (an init script runs before the
# page's own and is not subject to its policy); tests.helpers.csp_violations reads them.
WATCH_CSP = """window.__violations = [];
document.addEventListener("securitypolicyviolation",
    e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture
def watched(page):
    """The page, and the browser console's messages, with CSP violations collected."""
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH_CSP)
    return page, console


def screenshot(page, name, full_page=True):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def connected(sandbox, client, owner):
    """An active sandbox integration of `owner`, connected through the real flow."""
    from tests.helpers import connect

    client.force_login(owner)
    assert connect(client, sandbox, owner).status_code == 302
    return Integration.objects.get(connected_by=owner, provider="sandbox")


@pytest.fixture
def connect_many(sandbox, django_user_model):
    """n users, each with an active sandbox integration connected through the real flow, whose
    tokens are due (expiring in 10 minutes, last refreshed an hour ago)."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from tests.helpers import connect

    def make(n, prefix="user"):
        result = []
        for i in range(n):
            user = django_user_model.objects.create_user(f"{prefix}{i}", f"{prefix}{i}@example.com", "pw")
            client = Client()
            client.force_login(user)
            assert connect(client, sandbox, user).status_code == 302
            result.append(Integration.objects.get(connected_by=user))
        OAuthCredential.objects.filter(integration__in=result).update(
            expires_at=timezone.now() + timedelta(minutes=10),
            last_refreshed_at=timezone.now() - timedelta(hours=1))
        return result

    return make


def pytest_configure(config):
    from tests import leaks

    leaks.install()


@pytest.fixture(autouse=True)
def no_secret_leaks(request):
    """Fails a test whose logs, pages, JSON answers or emails show a token, code or secret."""
    from tests import leaks

    leaks.start_test()
    yield
    if request.node.get_closest_marker("leaks_expected"):
        return
    found = leaks.find_leaks()
    if found:
        pytest.fail("secrets leaked:\n" + "\n".join(found[:20]), pytrace=False)


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """What a process remembers between requests (a provider's breaker state, the clock's
    skew) starts empty in each test, as the database does."""
    from integrations import breaker, clock

    breaker.forget()
    clock.forget()
    yield
    breaker.forget()
    clock.forget()


@pytest.fixture(autouse=True)
def fresh_api_throttles():
    """The JSON API's per-user throttles start with no history (ids repeat across tests)."""
    from django.core.cache import caches

    from integrations.conf import settings

    caches[settings.INTEGRATIONS_API_THROTTLE_CACHE].clear()
    yield


@pytest.fixture(autouse=True)
def default_language_after_each_test():
    """A request in German leaves German active in its thread (LocaleMiddleware activates a
    language for each request and leaves it): the next test starts in the default language."""
    from django.utils import translation

    yield
    translation.deactivate()
