"""Settings, read from the environment (and an optional .env) through django-environ.

Every variable is documented in .env.example and in the README's configuration table.
Defaults are production-safe: with DEBUG off, cookies are secure, HSTS is on and the
sandbox is not mounted. `make run` turns DEBUG and the sandbox on for the embedded default.
"""

import os
from importlib.util import find_spec
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (a long random string) when DEBUG is off.")
    SECRET_KEY = "django-insecure-dev-only-key-change-me-0123456789abcdefghijklmnop"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "accounts",
    "integrations",
    "gbp",
]
# The JSON API (integrations/api/, the `api` extra): its reference page's static files.
if find_spec("ninja") is not None:
    INSTALLED_APPS.append("ninja")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each request: the one chosen with the site's switcher (a cookie), else
    # the browser's among LANGUAGES, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the write lock when their transaction begins (not on first write) and wait
    # for each other instead of failing with "database is locked": the token service relies on
    # writers serializing cleanly on the embedded default. WAL lets readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].startswith(("django.db.backends.postgresql",
                                              "django.contrib.gis.db.backends.postgis")):
    # Bounded waits on the database (libpq parameters, passed through by psycopg): connecting
    # gives up after 5 s (a server that accepts and never answers included); a peer that
    # vanished (host down, network cut) is found by TCP keepalives within about a minute (30 s
    # idle, then 3 probes 10 s apart); a statement (a lock wait included) is cancelled by the
    # server after DB_STATEMENT_TIMEOUT_MS (0: never). Not covered: a frozen server process on a
    # live host holding an open connection (its kernel still answers TCP). Parameters given in
    # DATABASE_URL's query string win.
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    for _name, _value in {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30,
                          "keepalives_interval": 10, "keepalives_count": 3}.items():
        _db_options.setdefault(_name, _value)
    if "statement_timeout" not in _db_options.get("options", ""):
        _db_options["options"] = " ".join(filter(None, [
            _db_options.get("options", ""),
            f"-c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=30000)}"]))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "integrations:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The languages the product and the demo are translated into (the apps' catalogues, and this
# host's own in locale/: its layout, sign-in pages and messages).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Cache and Celery ---------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Short timeouts: a Redis that hangs costs a metrics scrape or a rate-limit decision one
    # second, not five (both carry on without it).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# With no broker configured, tasks run eagerly in-process (the embedded default). Eager tasks
# still take a producer from the pool: the in-memory transport is named with a host, or kombu
# warns "No hostname was supplied" on every new connection.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is delivered again, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Bounded waits on the broker: an unreachable Redis is an error in seconds, not a hang. The
# visibility timeout is how long a message a killed worker took waits before Redis gives it to
# another: just over the longest task's time limit (refresh_batch: 960 s), so a killed worker's
# batches come back in minutes; no countdown is longer (the GBP day goes out in 10-minute waves).
# Workers look for such messages every 10 s (kombu's default looks only every tenth time, so a
# killed worker's batch could wait 100 s more), under a lock a worker killed while holding it
# keeps for 30 s (kombu's default: 300 s with no restore at all).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=1200),
    "unacked_restore_throttle": 1, "unacked_mutex_expire": 30,
    "socket_timeout": 10, "socket_connect_timeout": 5}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.2,
                                    "interval_step": 0.5, "interval_max": 2}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# --- Email --------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="integrations@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Encryption at rest -------------------------------------------------------------------
# A list, newest first: the first key encrypts, every key decrypts. `rotate_fernet_keys`
# re-encrypts every credential with the first. Keys are any long random strings (HKDF-derived).
INTEGRATIONS_FERNET_KEYS = env.list("FERNET_KEYS", default=[])
if not INTEGRATIONS_FERNET_KEYS and DEBUG:
    # Development only: integrations.checks warns about it; with DEBUG off it is an error.
    INTEGRATIONS_FERNET_KEYS = [SECRET_KEY]

# --- Integrations and Google Business Profile ---------------------------------------------
# Their defaults live in the apps (integrations/conf.py, gbp/conf.py). The demo reads any of
# them from the environment, typed like its default; .env.example lists them.
from gbp.conf import DEFAULTS as _GBP_DEFAULTS  # noqa: E402
from integrations.conf import DEFAULTS as _INTEGRATIONS_DEFAULTS  # noqa: E402

# The demo's connections belong to teams (accounts.Team): members share them, and the demo's
# adapter says who is in which team and that only a team's admins may disconnect.
INTEGRATIONS_OWNER_MODEL = "accounts.Team"
INTEGRATIONS_ADAPTER = "accounts.adapters.TeamAdapter"
# A demo database made before teams: each integration goes to its user's own team.
INTEGRATIONS_OWNER_FROM_USER = "accounts.owners.own_team"

_CAST = {bool: env.bool, int: env.int, float: env.float, str: env.str, list: env.list,
         dict: env.json}
for _name, _default in {**_INTEGRATIONS_DEFAULTS, **_GBP_DEFAULTS}.items():
    if _name in os.environ:
        vars()[_name] = _CAST[type(_default)](_name)

# Provider credentials from the environment's plain names (GOOGLE_CLIENT_ID, ...), merged under
# whatever INTEGRATIONS_PROVIDERS (JSON) declares.
INTEGRATIONS_PROVIDERS = dict(vars().get("INTEGRATIONS_PROVIDERS") or {})
for _key, _env in {"google": "GOOGLE", "microsoft": "MICROSOFT", "amazon": "AMAZON"}.items():
    _given = {name: os.environ[f"{_env}_{name.upper()}"]
              for name in ("client_id", "client_secret", "tenant", "region")
              if os.environ.get(f"{_env}_{name.upper()}")}
    if _given:
        INTEGRATIONS_PROVIDERS[_key] = {**_given, **INTEGRATIONS_PROVIDERS.get(_key, {})}

# Development conveniences, off unless DEBUG: redirect URIs on the dev server, and oauthlib
# allowed to talk plain http to the sandbox on loopback (a deploy check refuses it).
INTEGRATIONS_BASE_URL = env(
    "INTEGRATIONS_BASE_URL", default="http://127.0.0.1:8000" if DEBUG else ""
).rstrip("/")
INTEGRATIONS_ALLOW_INSECURE_TRANSPORT = env.bool("INTEGRATIONS_ALLOW_INSECURE_TRANSPORT",
                                                 default=DEBUG)

# --- Sandbox ------------------------------------------------------------------------------
# A dev/test OAuth 2.0 provider with a Google Business Profile-shaped API, under /sandbox/.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
SANDBOX_ACCESS_TOKEN_SECONDS = env.int("SANDBOX_ACCESS_TOKEN_SECONDS", default=3600)
# With DEBUG off the sandbox refuses to start unless this says so (the test settings do).
SANDBOX_ALLOW_WITHOUT_DEBUG = env.bool("SANDBOX_ALLOW_WITHOUT_DEBUG", default=False)
if SANDBOX_ENABLED:
    from sandbox.conf import configure as _configure_sandbox  # noqa: E402

    _configure_sandbox(vars())

# --- Security (production-safe when DEBUG is off) -----------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "integrations": {"level": LOG_LEVEL},
        "gbp": {"level": LOG_LEVEL},
        "sandbox": {"level": LOG_LEVEL},
        # These log full URLs, request bodies or issued tokens at DEBUG: never let them.
        "urllib3": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
        "oauth2_provider": {"level": "WARNING"},
    },
}
