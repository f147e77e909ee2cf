"""The app's settings and their defaults.

A host project sets only what it changes, under the flat names below, in its own settings
module. Values are read from `django.conf.settings` on every access, so `override_settings` and
pytest-django's `settings` fixture take effect at once; listeners of `changed` (the provider
registry's cache) are told when a setting of ours changes.

    from integrations.conf import settings
    settings.INTEGRATIONS_HTTP_TIMEOUT
"""

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import Signal, receiver

DEFAULTS = {
    # The public base URL redirect URIs are built from (never the request's Host header).
    "INTEGRATIONS_BASE_URL": "",
    # Seconds, every outbound call.
    "INTEGRATIONS_HTTP_TIMEOUT": 10.0,
    # Mail (integrations.mail): seconds for each socket operation of an IMAP or SMTP session,
    # attempts at reaching a server (backing off between them), and the CA bundle its
    # certificate is checked against ("": the system's).
    "INTEGRATIONS_MAIL_TIMEOUT": 10.0,
    "INTEGRATIONS_MAIL_CONNECT_ATTEMPTS": 3,
    "INTEGRATIONS_MAIL_CA_FILE": "",
    # Just-in-time window: a token expiring sooner than this is refreshed before use.
    "INTEGRATIONS_REFRESH_BUFFER_SECONDS": 300,
    "INTEGRATIONS_REFRESH_ATTEMPTS": 3,
    "INTEGRATIONS_RETRY_AFTER_CAP_SECONDS": 10.0,
    "INTEGRATIONS_BACKOFF_BASE_SECONDS": 0.5,
    "INTEGRATIONS_REFRESH_COOLDOWN_SECONDS": 60,
    "INTEGRATIONS_REFRESH_LOCK_SECONDS": 45,
    "INTEGRATIONS_REFRESH_WAIT_SECONDS": 50,
    "INTEGRATIONS_TRANSIENT_ESCALATION_SECONDS": 3 * 24 * 3600,
    "INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS": 300,
    "INTEGRATIONS_DEFAULT_EXPIRES_IN": 3600,
    # Fan-out: integration ids per Celery message, and threads a worker refreshes one batch on.
    "INTEGRATIONS_REFRESH_BATCH_SIZE": 500,
    "INTEGRATIONS_REFRESH_BATCH_CONCURRENCY": 16,
    # Bearer token for the health and metrics endpoints (empty: staff sessions only).
    "INTEGRATIONS_HEALTH_TOKEN": "",
    # The cache alias holding the shared refresh counters of the metrics endpoint.
    "INTEGRATIONS_METRICS_CACHE": "default",
    # Providers: credentials, overrides of the built-in declarations and generic providers, by
    # provider id; "google" holds what Google Business Profile and Gmail share (one OAuth client).
    #   {"google": {"client_id": "...", "client_secret": "..."},
    #    "microsoft": {"client_id": "...", "client_secret": "...", "tenant": "common"},
    #    "amazon": {"client_id": "...", "client_secret": "...", "region": "NA"},
    #    "acme": {"authorize_url": "...", "token_url": "...", ...}}
    # A provider without a client id is not offered.
    "INTEGRATIONS_PROVIDERS": {},
    # Encryption keys, newest first (required; see integrations.checks).
    "INTEGRATIONS_FERNET_KEYS": [],
    # oauthlib refuses http:// endpoints unless told otherwise: development and tests only (a
    # provider on loopback, such as the sandbox); a deploy check refuses it.
    "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT": False,
    # The class a host subclasses to change what the apps decide (integrations.adapter).
    "INTEGRATIONS_ADAPTER": "integrations.adapter.DefaultAdapter",
    # The model that owns integrations, "app_label.ModelName": the user (the default, "") or a
    # host's team / organization / workspace model. Chosen before the first migrate, like
    # AUTH_USER_MODEL; a model other than the user needs an adapter that maps a request to it.
    "INTEGRATIONS_OWNER_MODEL": "",
    # The process's clock may differ from the database's by this much before the token service
    # refuses to refresh or hand out tokens (leases and expiry compare times written elsewhere).
    "INTEGRATIONS_MAX_CLOCK_SKEW_SECONDS": 5,
    # Tokens a provider issued are written durably: a failed write (the database restarting, a
    # full disk) is tried again on a fresh connection for this long before the grant is lost.
    "INTEGRATIONS_PERSIST_RETRY_SECONDS": 120,
    # A query of the token service's runs and tasks with no answer after this long has its
    # connection dropped (a frozen PostgreSQL acknowledges packets but never answers); 0: never.
    "INTEGRATIONS_DB_DEADLINE_SECONDS": 60,
    # A provider's circuit breaker: this many transient refresh failures in a row, across at
    # least BREAKER_CREDENTIALS credentials, and the provider is not asked for BREAKER_OPEN_SECONDS
    # (doubling while the probe fails, at most BREAKER_MAX_OPEN_SECONDS); one probe at a time.
    "INTEGRATIONS_BREAKER_FAILURES": 10,
    "INTEGRATIONS_BREAKER_CREDENTIALS": 3,
    "INTEGRATIONS_BREAKER_OPEN_SECONDS": 60,
    "INTEGRATIONS_BREAKER_MAX_OPEN_SECONDS": 3600,
    # The Content-Security-Policy of the apps' pages: no inline script anywhere (the pages have
    # none); inline styles allowed for a host layout's. "" sends none (a host's own CSP
    # middleware, django-csp or Django's, is detected and wins anyway).
    "INTEGRATIONS_CONTENT_SECURITY_POLICY": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"),
    # Re-auth notices that could not be delivered are tried again this many times, backing off
    # from NOTICE_RETRY_SECONDS (doubling, at most a day apart), then kept as failed for admin.
    "INTEGRATIONS_NOTICE_ATTEMPTS": 12,
    "INTEGRATIONS_NOTICE_RETRY_SECONDS": 60,
    # The JSON API (integrations.api, installed with the `api` extra): where the callback of a
    # connect started through it returns the browser, with the outcome in the query (a
    # frontend's URL; "" for the integrations page). A connect's `return_to` may name a path on
    # this site or another URL on this one's origin.
    "INTEGRATIONS_API_RETURN_URL": "",
    # Per-user limits of the API's costly actions ("N/s", "N/min", "N/h", "N/day"): a forced
    # refresh asks the provider, a connect start writes a state, a Sync now queues a sync (which
    # has its own per-account interval too, GBP_SYNC_NOW_MIN_INTERVAL), a reply is written at
    # Google (a consumer app's action, such as GBP's).
    "INTEGRATIONS_API_THROTTLE_RATES": {"refresh": "6/min", "connect": "20/min",
                                        "sync": "10/min", "reply": "60/min"},
    # The cache alias those throttles count in (shared by every process when it is Redis).
    "INTEGRATIONS_API_THROTTLE_CACHE": "default",
}

# Sent with `name` when one of our settings changes (tests); caches listen to it.
changed = Signal()


class AppSettings:
    """Attribute access to a host's settings with an app's defaults behind them."""

    def __init__(self, defaults: dict):
        self._defaults = defaults

    def __getattr__(self, name):
        try:
            default = self._defaults[name]
        except KeyError:
            raise AttributeError(name) from None
        return getattr(django_settings, name, default)

    def __contains__(self, name):
        return name in self._defaults


settings = AppSettings(DEFAULTS)


@receiver(setting_changed)
def _tell_listeners(sender, setting, **kwargs):
    changed.send(sender=AppSettings, name=setting)


def owner_model_name() -> str:
    """INTEGRATIONS_OWNER_MODEL, or AUTH_USER_MODEL when unset (models and migrations read it
    once, at import: it cannot change under a running process)."""
    return getattr(django_settings, "INTEGRATIONS_OWNER_MODEL", "") or django_settings.AUTH_USER_MODEL
