"""The one seam for outbound HTTP: timeouts everywhere, pooled connections, nothing secret logged.

Every call to a provider (token, revoke, userinfo, APIs) goes through `request`, so tests can
mock here, the timeout is set in one place, and log lines carry method, host, path and status,
never a query string, a body or an Authorization header.

The plumbing every retry loop that talks to a provider shares lives here too: `backoff_delay`,
`retry_after_seconds` and `wait`, the one place a provider call waits (tests record the waits).
"""

import email.utils
import logging
import os
import random
import threading
import time
from datetime import datetime, timezone
import urllib.request
from urllib.parse import urlsplit

import requests

from .conf import settings

log = logging.getLogger(__name__)
_local = threading.local()


class NetworkError(Exception):
    """The request did not get an HTTP answer (timeout, refused connection, DNS, TLS)."""

    def __init__(self, code: str, url: str):
        self.code = code
        super().__init__(f"{code} calling {describe(url)}")


def describe(url: str) -> str:
    """A URL fit for logs: scheme, host and path only (no query string: it may carry a code)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# The connections, shared by every thread's session: urllib3's pools are thread-safe, and a
# thread's connections outlive it, so a run's new threads (a refresh run, a GBP sync's pool)
# reuse the keep-alive connections (and TLS sessions) of the last run instead of opening new
# ones to the same hosts.
def _new_adapter():
    return requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=32)


_adapter = _new_adapter()


def _after_fork_in_child():
    """A forked process (a Celery or gunicorn worker) opens connections of its own: sockets
    shared with the parent would interleave two processes' requests."""
    global _adapter
    _adapter = _new_adapter()
    _local.__dict__.pop("session", None)


os.register_at_fork(after_in_child=_after_fork_in_child)


def session() -> requests.Session:
    """A session per thread (requests.Session is not safe to share across threads), over the
    process's pooled connections."""
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
        s.mount("http://", _adapter)
        s.mount("https://", _adapter)
        if not urllib.request.getproxies():
            # No proxy in the environment: read it once here instead of on every request
            # (requests' per-request lookup cost ~0.3 ms a call), and never send ~/.netrc
            # credentials to a provider. A CA bundle named in the environment still applies.
            s.trust_env = False
            s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
                "CURL_CA_BUNDLE") or True
    return s


def request(method: str, url: str, *, timeout: float | None = None, **kwargs) -> requests.Response:
    timeout = timeout or settings.INTEGRATIONS_HTTP_TIMEOUT
    started = time.monotonic()
    try:
        response = session().request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.Timeout:
        log.info("%s %s: timeout after %.1fs", method, describe(url), timeout)
        raise NetworkError("timeout", url) from None
    except requests.ConnectionError:
        log.info("%s %s: connection error", method, describe(url))
        raise NetworkError("connection_error", url) from None
    except requests.RequestException as exc:
        log.info("%s %s: %s", method, describe(url), type(exc).__name__)
        raise NetworkError("request_error", url) from None
    log.debug("%s %s -> %s in %.0f ms", method, describe(url), response.status_code,
              (time.monotonic() - started) * 1000)
    return response


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """How long to wait before attempt+1: Retry-After if given, else exponential with jitter;
    capped either way. Shared by every retry loop that talks to a provider."""
    cap = settings.INTEGRATIONS_RETRY_AFTER_CAP_SECONDS
    if retry_after is not None:
        return min(retry_after, cap)
    base = settings.INTEGRATIONS_BACKOFF_BASE_SECONDS
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


def wait(seconds: float):
    """Every wait between provider calls goes through here (tests record or skip the waits)."""
    time.sleep(seconds)
