"""Settings the sandbox adds when SANDBOX_ENABLED is on (called from config/settings.py).

The product's side of it is plain provider configuration: `INTEGRATIONS_PROVIDERS["sandbox"]`
declares a Google Business Profile-like provider whose endpoints are this sandbox. Product code
never imports the sandbox.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop

GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret-for-development-only"


def provider_declaration(base_url: str, client_id: str, client_secret: str) -> dict:
    """The sandbox as the product sees it: Google Business Profile at another address. With
    base_url "" the endpoints are paths on this very site (the product joins them to
    INTEGRATIONS_BASE_URL, whenever that is set)."""
    base = base_url.rstrip("/") + "/sandbox"
    return {
        "extends": "google_business_profile",
        "name": "Google Business Profile (sandbox)",
        "authorize_url": f"{base}/o/authorize/",
        "token_url": f"{base}/o/token/",
        "revoke_url": f"{base}/o/revoke_token/",
        "revoke_client_auth": True,
        "userinfo_url": f"{base}/userinfo",
        "api_base_url": f"{base}/gbp/",
        "client_id": client_id,
        "client_secret": client_secret,
    }


TRUE = {"1", "true", "yes", "on"}
# The longest a fault may delay an answer (the page, the command and the test helper alike):
# long enough to outlast any client timeout, short enough not to tie up a server thread.
MAX_LATENCY_MS = 30_000


def is_true(value) -> bool:
    return value is True or str(value).strip().lower() in TRUE


def refuse_without_debug(debug, allowed) -> None:
    """The sandbox hands out tokens to anyone signed in and lets staff break things on purpose:
    never on a production site. With DEBUG off it starts only when explicitly allowed."""
    if not debug and not is_true(allowed):
        raise ImproperlyConfigured(
            "The sandbox provider is enabled with DEBUG off. It is for development and tests "
            "only: turn it off (SANDBOX_ENABLED=false), or set SANDBOX_ALLOW_WITHOUT_DEBUG=true "
            "if this really is a test setup.")


def configure(s: dict) -> None:
    """Add the sandbox to a settings module's namespace: `configure(vars())` at its end.

    Reads SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_ACCESS_TOKEN_SECONDS and
    SANDBOX_ALLOW_WITHOUT_DEBUG from the namespace first, then from the environment. Refuses
    (ImproperlyConfigured) with DEBUG off unless SANDBOX_ALLOW_WITHOUT_DEBUG is true.
    """
    def setting(name, default):
        return s.get(name) or os.environ.get(name) or default

    s["SANDBOX_ALLOW_WITHOUT_DEBUG"] = is_true(setting("SANDBOX_ALLOW_WITHOUT_DEBUG", False))
    refuse_without_debug(s.get("DEBUG", False), s["SANDBOX_ALLOW_WITHOUT_DEBUG"])
    s["INSTALLED_APPS"] = [*s["INSTALLED_APPS"], "oauth2_provider", "sandbox"]
    s["SANDBOX_ENABLED"] = True
    s["SANDBOX_CLIENT_ID"] = setting("SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID)
    s["SANDBOX_CLIENT_SECRET"] = setting("SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    s["SANDBOX_ACCESS_TOKEN_SECONDS"] = int(setting("SANDBOX_ACCESS_TOKEN_SECONDS", 3600))
    # The GBP API like Google's quota (requests per minute per API, 0: no limit; over it, 429
    # RESOURCE_EXHAUSTED) and latency (milliseconds added to every GBP API answer; capped).
    s["SANDBOX_GBP_QUOTA_PER_MINUTE"] = int(setting("SANDBOX_GBP_QUOTA_PER_MINUTE", 0))
    s["SANDBOX_GBP_LATENCY_MS"] = int(setting("SANDBOX_GBP_LATENCY_MS", 0))
    # Configured like a strict real provider (see the README's Sandbox section).
    s["OAUTH2_PROVIDER"] = {
        # Marked for translation, translated by the consent page (settings hold plain strings).
        "SCOPES": {
            GBP_SCOPE: gettext_noop("Manage your Business Profile (sandbox)"),
            "https://mail.google.com/": gettext_noop("Read, compose and send your email (sandbox)"),
            "openid": gettext_noop("Know who you are"),
            "email": gettext_noop("See your email address"),
        },
        "DEFAULT_SCOPES": ["openid"],
        "PKCE_REQUIRED": True,
        "ACCESS_TOKEN_EXPIRE_SECONDS": s["SANDBOX_ACCESS_TOKEN_SECONDS"],
        "REFRESH_TOKEN_EXPIRE_SECONDS": 180 * 24 * 3600,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 120,
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
        "OAUTH2_BACKEND_CLASS": "oauth2_provider.oauth2_backends.OAuthLibCore",
    }
    providers = dict(s.get("INTEGRATIONS_PROVIDERS") or {})
    providers.setdefault(
        "sandbox", provider_declaration("", s["SANDBOX_CLIENT_ID"], s["SANDBOX_CLIENT_SECRET"]))
    s["INTEGRATIONS_PROVIDERS"] = providers
