"""Settings the sandbox adds when SANDBOX_ENABLED is on (called from config/settings.py).

The product's side of it is plain provider configuration: `INTEGRATION_PROVIDERS["sandbox"]`
declares a Google Business Profile-like provider whose endpoints are this sandbox. Product code
never imports the sandbox.
"""

import os

GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret-for-development-only"


def provider_declaration(base_url: str, client_id: str, client_secret: str) -> dict:
    """The sandbox as the product sees it: Google Business Profile at another address."""
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


def configure(s: dict) -> None:
    """Add the sandbox to a settings module's namespace: `configure(vars())` at its end.

    Reads SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET and SANDBOX_ACCESS_TOKEN_SECONDS from the
    namespace first, then from the environment.
    """
    def setting(name, default):
        return s.get(name) or os.environ.get(name) or default

    s["INSTALLED_APPS"] = [*s["INSTALLED_APPS"], "oauth2_provider", "sandbox"]
    s["SANDBOX_ENABLED"] = True
    s["SANDBOX_CLIENT_ID"] = setting("SANDBOX_CLIENT_ID", DEFAULT_CLIENT_ID)
    s["SANDBOX_CLIENT_SECRET"] = setting("SANDBOX_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    s["SANDBOX_ACCESS_TOKEN_SECONDS"] = int(setting("SANDBOX_ACCESS_TOKEN_SECONDS", 3600))
    # Configured like a strict real provider (see the README's Sandbox section).
    s["OAUTH2_PROVIDER"] = {
        "SCOPES": {
            GBP_SCOPE: "Manage your Business Profile (sandbox)",
            "https://mail.google.com/": "Read, compose and send your email (sandbox)",
            "openid": "Know who you are",
            "email": "See your email address",
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
    providers = dict(s.get("INTEGRATION_PROVIDERS") or {})
    providers.setdefault(
        "sandbox",
        provider_declaration(
            s.get("INTEGRATIONS_BASE_URL", ""), s["SANDBOX_CLIENT_ID"], s["SANDBOX_CLIENT_SECRET"]
        ),
    )
    s["INTEGRATION_PROVIDERS"] = providers
