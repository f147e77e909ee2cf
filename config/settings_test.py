"""Settings for the test suite: production-like (DEBUG off), with the sandbox installed.

Values already in the environment win, so CI's DATABASE_URL and REDIS_URL are used as given.
"""

import os

for name, value in {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production-4f0c7b1e9a2d8e6c5b3a1f0e9d8c7b6a",
    "FERNET_KEYS": "test-fernet-key-one-7d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SANDBOX_ENABLED": "false",
    "INTEGRATIONS_BASE_URL": "http://testserver",
    "LOG_LEVEL": "DEBUG",
    # Tests that want a real worker start one and say so; the rest run tasks in-process.
    "CELERY_TASK_ALWAYS_EAGER": "true",
}.items():
    os.environ.setdefault(name, value)

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests measure behaviour, not backoff: keep the waits short (the logic is the same).
INTEGRATIONS_BACKOFF_BASE_SECONDS = 0.01
INTEGRATIONS_RETRY_AFTER_CAP_SECONDS = 0.5
