from django.conf import settings

from .conf import settings as app_settings
from django.core.checks import Error, Warning, register


@register()
def check_fernet_keys(app_configs, **kwargs):
    if getattr(settings, "FERNET_KEYS_DERIVED_FROM_SECRET_KEY", False):
        return [
            Warning(
                "FERNET_KEYS is not set: tokens are encrypted with a key derived from SECRET_KEY.",
                hint="Set FERNET_KEYS to a long random string before storing real tokens.",
                id="integrations.W001",
            )
        ]
    if not app_settings.FERNET_KEYS:
        return [
            Error(
                "FERNET_KEYS is empty: OAuth tokens cannot be encrypted.",
                hint="Set FERNET_KEYS to one or more long random strings, comma-separated, "
                "newest first (python -c 'import secrets; print(secrets.token_urlsafe(32))').",
                id="integrations.E001",
            )
        ]
    return []


@register(deploy=True)
def check_base_url(app_configs, **kwargs):
    base = app_settings.INTEGRATIONS_BASE_URL
    if not base.startswith("https://"):
        return [
            Error(
                "INTEGRATIONS_BASE_URL must be the site's public https:// URL in production.",
                hint="OAuth redirect URIs are built from it, e.g. https://app.example.com",
                id="integrations.E002",
            )
        ]
    return []


@register(deploy=True)
def check_secure_transport(app_configs, **kwargs):
    if app_settings.OAUTH_ALLOW_INSECURE_TRANSPORT:
        return [
            Error(
                "OAUTH_ALLOW_INSECURE_TRANSPORT is on: OAuth over plain http is allowed.",
                hint="Set OAUTH_ALLOW_INSECURE_TRANSPORT=false in production.",
                id="integrations.E004",
            )
        ]
    return []
