"""System checks: what a host gets wrong when it installs the apps, said before it bites.

Run by `manage.py check` (and before runserver and migrate); `check --deploy` adds the checks
for production. Each message says what to do.
"""

from django.conf import settings
from django.core.checks import Error, Warning, register

from .conf import settings as app_settings
from .providers.base import is_placeholder
from .providers.registry import ProviderConfigError, all_providers, configured

MAKE_A_KEY = ("Make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\" and "
              "keep it safe (tokens encrypted with a lost key cannot be read).")
# The example values of .env.example and the README: never a real key.
EXAMPLE_KEYS = {"new-long-random-key", "older-long-random-key", "long-random-string",
                "a-long-random-string", "change-me-to-a-long-random-string"}
MIN_KEY_LENGTH = 32
# Settings this app read under other names before they were prefixed.
RENAMED = {"INTEGRATION_PROVIDERS": "INTEGRATIONS_PROVIDERS",
           "OAUTH_ALLOW_INSECURE_TRANSPORT": "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT"}


def weak_key(key, secret_key) -> str:
    """Why an encryption key is not fit for real tokens ('' if it is)."""
    if not isinstance(key, str) or is_placeholder(key) or key.strip().lower() in EXAMPLE_KEYS:
        return "is an example or placeholder value"
    if secret_key and key == secret_key:
        return "is the SECRET_KEY (a key of its own can be rotated on its own)"
    if len(key) < MIN_KEY_LENGTH:
        return f"is shorter than {MIN_KEY_LENGTH} characters"
    return ""


@register()
def check_fernet_keys(app_configs, **kwargs):
    keys = app_settings.INTEGRATIONS_FERNET_KEYS
    if isinstance(keys, (str, bytes)):
        return [Error("INTEGRATIONS_FERNET_KEYS must be a list of keys, not one string.",
                      hint='INTEGRATIONS_FERNET_KEYS = ["<key>"] (newest first).',
                      id="integrations.E001")]
    if not keys:
        legacy = " (it was called FERNET_KEYS before)" if getattr(settings, "FERNET_KEYS",
                                                                  None) else ""
        return [Error(f"INTEGRATIONS_FERNET_KEYS is empty{legacy}: OAuth tokens cannot be "
                      "encrypted.",
                      hint="Set it to a list of long random strings, newest first. " + MAKE_A_KEY,
                      id="integrations.E001")]
    problems = []
    for n, key in enumerate(keys):
        why = weak_key(key, getattr(settings, "SECRET_KEY", ""))
        if not why:
            continue
        text = f"INTEGRATIONS_FERNET_KEYS[{n}] {why}."
        if settings.DEBUG:  # development: say so, carry on
            problems.append(Warning(text, hint="Fine for development only. " + MAKE_A_KEY,
                                    id="integrations.W001"))
        else:
            problems.append(Error(text, hint=MAKE_A_KEY, id="integrations.E006"))
    return problems


@register()
def check_base_url_set(app_configs, **kwargs):
    if not app_settings.INTEGRATIONS_BASE_URL:
        return [Warning("INTEGRATIONS_BASE_URL is not set: the OAuth redirect URIs cannot be built.",
                        hint='The site\'s public address, e.g. "https://app.example.com"; '
                             '"http://127.0.0.1:8000" for runserver.',
                        id="integrations.W002")]
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
    if app_settings.INTEGRATIONS_ALLOW_INSECURE_TRANSPORT:
        return [
            Error(
                "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT is on: OAuth over plain http is allowed.",
                hint="Set INTEGRATIONS_ALLOW_INSECURE_TRANSPORT = False in production.",
                id="integrations.E004",
            )
        ]
    return []


def placeholder_messages() -> list[str]:
    """Each client id or secret in INTEGRATIONS_PROVIDERS that is a placeholder, by its path."""
    found = []
    for key, entry in configured().items():
        if not isinstance(entry, dict):
            continue
        for name in ("client_id", "client_secret"):
            if is_placeholder(entry.get(name)):
                found.append(f'INTEGRATIONS_PROVIDERS["{key}"]["{name}"] is a placeholder '
                             f"({entry[name]!r:.20}), not a real value")
    return found


@register()
def check_providers(app_configs, **kwargs):
    try:
        given = configured()
        bad = [key for key, entry in given.items() if not isinstance(entry, dict)]
        if bad:
            raise ProviderConfigError(f"INTEGRATIONS_PROVIDERS[{bad[0]!r}] must be a dict")
        all_providers()
    except ProviderConfigError as exc:
        return [Error(str(exc), hint="See the README, 'Providers'.", id="integrations.E007")]
    problems = [Warning(text + ": the provider is not offered to users.",
                        hint="Paste the value from the provider's console, or leave the key out.",
                        id="integrations.W003") for text in placeholder_messages()]
    for old, new in RENAMED.items():
        if hasattr(settings, old):
            problems.append(Warning(f"{old} is set but this app reads {new} now.",
                                    hint=f"Rename the setting to {new}.", id="integrations.W005"))
    return problems


@register(deploy=True)
def check_no_placeholders(app_configs, **kwargs):
    return [Error(text + ".", hint="Paste the value from the provider's console.",
                  id="integrations.E005") for text in placeholder_messages()]


@register()
def check_adapter(app_configs, **kwargs):
    from .adapter import AdapterError, DefaultAdapter, get_adapter, is_user_owned

    try:
        adapter = get_adapter()
    except AdapterError as exc:
        return [Error(str(exc), hint="INTEGRATIONS_ADAPTER names a class by its dotted path, "
                                     "e.g. \"myapp.adapters.IntegrationsAdapter\".",
                      id="integrations.E008")]
    if not is_user_owned() and type(adapter).owners_for is DefaultAdapter.owners_for:
        return [Error("INTEGRATIONS_OWNER_MODEL is not the user model, and the adapter does not "
                      "say which owners a user may act for.",
                      hint="Set INTEGRATIONS_ADAPTER to a subclass of "
                           "integrations.adapter.DefaultAdapter whose owners_for(user) returns "
                           "the user's teams (README, \"Owners\").",
                      id="integrations.E009")]
    return []


@register()
def check_task_queue(app_configs, **kwargs):
    from .tasks import queue_problem

    problem = queue_problem()
    if problem:
        return [Warning(problem, hint="Set CELERY_BROKER_URL and run a worker (celery -A <your "
                                      "project> worker), or CELERY_TASK_ALWAYS_EAGER = True to "
                                      "run tasks in-process (development).",
                        id="integrations.W004")]
    return []



@register()
def check_sqlite_writers(app_configs, **kwargs):
    db = settings.DATABASES.get("default", {})
    if db.get("ENGINE") == "django.db.backends.sqlite3" and (
            db.get("OPTIONS") or {}).get("transaction_mode") != "IMMEDIATE":
        return [Warning("SQLite without transaction_mode IMMEDIATE: a token refresh may fail "
                        "with \"database is locked\" when the server and a worker write at once.",
                        hint='DATABASES["default"]["OPTIONS"] = {"transaction_mode": '
                             '"IMMEDIATE", "timeout": 20} (or PostgreSQL in production).',
                        id="integrations.W006")]
    return []


@register()
def check_api_docs_assets(app_configs, **kwargs):
    """The JSON API's reference page (api/v1/docs) takes Swagger UI from this site's static
    files only when "ninja" is an installed app; else from a CDN, which the pages' policy
    (INTEGRATIONS_CONTENT_SECURITY_POLICY: scripts from this site only) refuses."""
    from importlib.util import find_spec

    from django.apps import apps

    if find_spec("ninja") is None or apps.is_installed("ninja"):
        return []
    return [Warning("django-ninja is installed (the JSON API is mounted) but \"ninja\" is not in "
                    "INSTALLED_APPS: its reference page would load Swagger UI from a CDN, which "
                    "the pages' Content-Security-Policy blocks.",
                    hint='Add "ninja" to INSTALLED_APPS.', id="integrations.W007")]
