"""Settings for the test suite: production-like (DEBUG off), with the sandbox installed.

Values already in the environment win, so CI's DATABASE_URL and REDIS_URL are used as given.
"""

import os
import tempfile

for name, value in {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production-4f0c7b1e9a2d8e6c5b3a1f0e9d8c7b6a",
    "FERNET_KEYS": "test-fernet-key-one-7d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SANDBOX_ENABLED": "true",
    # Production-like (DEBUG off) with the sandbox on: an explicit opt-in, never in production.
    "SANDBOX_ALLOW_WITHOUT_DEBUG": "true",
    "INTEGRATIONS_BASE_URL": "http://testserver",
    "LOG_LEVEL": "DEBUG",
    "INTEGRATIONS_ALLOW_INSECURE_TRANSPORT": "true",
    # Tests that want a real worker start one and say so; the rest run tasks in-process.
    "CELERY_TASK_ALWAYS_EAGER": "true",
    # ... in the request, as eager tasks run: a test sees the sync's outcome when its POST
    # returns (tests/gbp/test_sync_in_background.py turns the background thread on).
    "GBP_SYNC_IN_THREAD": "false",
}.items():
    os.environ.setdefault(name, value)

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests speak plain HTTP on loopback (the live server, requests, Chromium); production cookies
# stay secure (tests/test_deploy.py checks the production settings in their own process).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

# Records every page and JSON answer the product serves, for the suite-wide leak check.
MIDDLEWARE = [*MIDDLEWARE, "tests.leaks.CaptureResponses"]  # noqa: F405

# No persistent connections: live-server threads must not keep the test database open.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# SQLite tests use a file, not shared-cache memory: the live server thread, worker threads and
# helper processes then lock it like production does (WAL, busy timeout, immediate writers).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # One file per pytest-xdist worker; the processes a test starts inherit their worker's.
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ.setdefault(
        f"TEST_SQLITE_PATH_{_worker}",
        os.path.join(tempfile.gettempdir(), f"integrations-test-{os.getpid()}-{_worker}.sqlite3"),
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ[f"TEST_SQLITE_PATH_{_worker}"]}  # noqa: F405
# Tests measure behaviour, not backoff: keep the waits short (the logic is the same).
INTEGRATIONS_BACKOFF_BASE_SECONDS = 0.01
INTEGRATIONS_RETRY_AFTER_CAP_SECONDS = 0.5
# Tests measure behaviour, not Google's quota: the GBP rate limiter paces at 1,000 requests a
# second here (the limiter's own tests and the quota tests set their rates).
GBP_QUOTA_PER_MINUTE = 60_000
# The JSON API's throttles count in a cache of their own here, emptied before each test
# (tests/conftest.py): a user id a previous test used starts with no history.
CACHES = {**CACHES, "api-throttle": {  # noqa: F405
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"}}
INTEGRATIONS_API_THROTTLE_CACHE = "api-throttle"
# One Redis serves both pytest-xdist workers: each worker's cache keys (the metrics' shared
# counters among them) under a prefix of its own, so that one worker's refreshes are not counted
# in the other's scrape; the processes a test starts inherit their worker's.
if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    CACHES["default"]["KEY_PREFIX"] = f"test-{_worker}"  # noqa: F405
