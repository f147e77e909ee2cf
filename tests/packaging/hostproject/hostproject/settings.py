"""Settings of a minimal host project of the django-stay-connected wheel.

Plain Django settings: Django's own `User`, no `accounts` app, no django-environ. The only
values read from the environment are the database's (tests/packaging/test_wheel_host.py points
it at SQLite or at a PostgreSQL database of its own):

    HOSTPROJECT_DB_ENGINE   sqlite (default) or postgresql
    HOSTPROJECT_DB_NAME, HOSTPROJECT_DB_USER, HOSTPROJECT_DB_PASSWORD,
    HOSTPROJECT_DB_HOST, HOSTPROJECT_DB_PORT   (PostgreSQL)
    HOSTPROJECT_SANDBOX     1 (default): the sandbox provider is on; 0: integrations and gbp only
    HOSTPROJECT_USER        default (Django's User), email (an email-only user model without
                            `username`) or handle (no email field at all, a UUID primary key)
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "hostproject-insecure-test-only-key-5b2e8c1f7a9d4e3b6c0a8f1e2d7c9b4a"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "integrations",
    "gbp",
]

# The user model, chosen before the first migrate (tests/packaging/test_wheel_host.py runs each).
USER_MODELS = {"default": None, "email": ("emailusers", "EmailUser"),
               "handle": ("handleusers", "Member")}
_user_model = USER_MODELS[os.environ.get("HOSTPROJECT_USER", "default")]
if _user_model:
    INSTALLED_APPS.append(_user_model[0])
    AUTH_USER_MODEL = ".".join(_user_model)

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hostproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

if os.environ.get("HOSTPROJECT_DB_ENGINE", "sqlite") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["HOSTPROJECT_DB_NAME"],
            "USER": os.environ.get("HOSTPROJECT_DB_USER", ""),
            "PASSWORD": os.environ.get("HOSTPROJECT_DB_PASSWORD", ""),
            "HOST": os.environ.get("HOSTPROJECT_DB_HOST", ""),
            "PORT": os.environ.get("HOSTPROJECT_DB_PORT", ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # A file, not shared in-memory: the sandbox's live server thread writes beside the
            # test. Writers wait for each other instead of failing with "database is locked".
            "TEST": {"NAME": BASE_DIR / "test-db.sqlite3"},
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# Celery without a broker: tasks run in-process.
CELERY_BROKER_URL = "memory://"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# --- django-stay-connected ----------------------------------------------------------------
INTEGRATIONS_FERNET_KEYS = ["hostproject-fernet-key-for-tests-only-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c"]
# The sandbox's pytest fixture points this at its live server.
INTEGRATIONS_BASE_URL = "http://127.0.0.1:8000"
# The sandbox speaks plain http on loopback.
INTEGRATIONS_ALLOW_INSECURE_TRANSPORT = True

# The sandbox provider, opt-in: adds its apps and declares the `sandbox` provider.
if os.environ.get("HOSTPROJECT_SANDBOX", "1") == "1":
    from sandbox.conf import configure

    # DEBUG is off here (production-like tests): the sandbox must be allowed explicitly.
    SANDBOX_ALLOW_WITHOUT_DEBUG = True

    configure(vars())
