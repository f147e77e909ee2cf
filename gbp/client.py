"""Google's Business Profile APIs, as the sync and the connect-time label call them.

google-api-python-client runs with its static discovery documents and an http object that
sends through the core's one HTTP seam (`integrations.http`). Every request, the connect-time
label's included, first waits for its slot at the shared rate limiter (`gbp.limiter`, one pace
per Google API); a 429 tells the limiter to pause and slow down for everyone. Every call goes
through the token service's 401 helper (one forced refresh, one retry) and bounded retries on
5xx and network errors, waiting where the core's provider calls wait (`integrations.http.wait`).

What Google answers is read defensively: an answer that is not JSON, nested deeper than the
parser goes or not text at all is BadData, never an exception from below; Google's error text is
scrubbed of the access token we sent (and the client's secret) before anything keeps it (the
sync's message, the history, the log, admin).
"""

import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations import http, tokens
from integrations.security import client_secrets, scrub

from . import limiter
from .conf import settings

log = logging.getLogger(__name__)

GOOGLE_HOSTS = {
    "accounts": "https://mybusinessaccountmanagement.googleapis.com/",
    "locations": "https://mybusinessbusinessinformation.googleapis.com/",
    "performance": "https://businessprofileperformance.googleapis.com/",
    "reviews": "https://mybusiness.googleapis.com/",
}
ENABLE_APIS = (
    "An operator must enable the My Business Account Management, Business Information and "
    "Business Profile Performance APIs for the Google Cloud project, and request Business "
    "Profile API access from Google (until granted, the quota is 0 requests per minute)."
)
RESUME_SECONDS = 300  # a sync the quota stopped resumes this much later (or after Retry-After)


class ApiError(Exception):
    """A Google API answer other than 2xx (after our retries)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        self.status_code = status
        self.retry_after = retry_after
        super().__init__(f"{status}: {message}")
        self.message = message


class SyncError(Exception):
    """What stops a sync; `code` is for operators, tools and the pages' plain words;
    `http_status` is Google's status when Google answered (as_sync_error), else None."""

    http_status = None

    def __init__(self, code, message):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class QuotaExhausted(SyncError):
    """Google kept answering 429: the sync pauses and resumes `resume_in` seconds later.
    `retry_after`: Google's own Retry-After of the last 429 (None when it sent none)."""

    def __init__(self, resume_in: float, retry_after: float | None = None):
        self.resume_in = resume_in
        self.retry_after = retry_after
        super().__init__("rate_limited", "Google's quota for the Business Profile APIs is used "
                                         "up; the sync pauses and resumes by itself.")


class BadData(SyncError):
    """An answer (or one item of it) that is not what Google documents."""

    def __init__(self, message):
        super().__init__("bad_data", message)


@dataclass
class V4:
    """A call to the v4 API (reviews), for which no discovery document ships."""

    method: str
    url: str
    body: dict | None = None


# What reading an answer may raise: broken or deeply nested JSON (RecursionError), bytes that
# are no text (UnicodeDecodeError, a ValueError), a body of the wrong type.
UNREADABLE = (TypeError, ValueError, RecursionError)


def _json(content):
    """The answer's JSON, or None when it cannot be read."""
    try:
        return json.loads(content)
    except UNREADABLE:
        return None


def _error_message(content, secrets=()) -> str:
    """Google's error text ({"error": {"message": ...}}), scrubbed of every secret we sent
    before it is cut to length (a secret cut in two would no longer be found)."""
    body = _json(content)
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return ""
    message = body["error"].get("message") or body["error"].get("status") or ""
    if not isinstance(message, str):
        return ""
    return scrub(" ".join(message.split()), secrets)[:500]


def send(api, method, url, token, *, body=None, headers=None, max_wait=None):
    """One HTTP request to one of Google's APIs, in its turn at the rate limiter."""
    limiter.acquire(api, max_wait=max_wait)
    headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
    response = http.request(method, url, data=body, headers=headers)
    if response.status_code == 429:
        limiter.slow_down(api, http.retry_after_seconds(response.headers.get("Retry-After")))
    return response


class SeamHttp:
    """An httplib2.Http look-alike for googleapiclient: one request, one API, one token."""

    def __init__(self, api, token="", on_send=None):
        self.api, self.token, self.on_send = api, token, on_send

    def request(self, uri, method="GET", body=None, headers=None, redirections=5,
                connection_type=None):
        if self.on_send:
            self.on_send(self.api)
        response = send(self.api, method, uri, self.token, body=body, headers=headers)
        info = httplib2.Response({"status": str(response.status_code), **response.headers})
        info.reason = response.reason
        return info, response.content


def account_label(provider, access_token) -> str:
    """The first Business Profile account's name, to label a new connection (best effort: a
    project without API access yet answers 403, and the connection is still worth keeping)."""
    base = provider.api_base_url or GOOGLE_HOSTS["accounts"]
    try:
        # The user is waiting on the connect page: a few seconds for a slot at most.
        response = send("accounts", "GET", f"{base}v1/accounts?pageSize=1", access_token,
                        max_wait=5)
    except (http.NetworkError, limiter.Busy):
        return ""
    body = _json(response.content) if response.status_code == 200 else None
    accounts = body.get("accounts") if isinstance(body, dict) else None
    if isinstance(accounts, list) and accounts and isinstance(accounts[0], dict):
        label = accounts[0].get("accountName")
        if isinstance(label, str):
            return scrub(label.strip(), [access_token, *client_secrets(provider)])[:120]
    return ""


class GbpApi:
    """The three discovery-based APIs and the v4 reviews endpoints, for one integration.
    Safe to share between a sync's threads (each request gets its own http object)."""

    def __init__(self, integration, provider):
        self.integration = integration
        self.tokens = tokens.TokenHolder(integration)  # one read of the credential for many calls
        self.client_secrets = client_secrets(provider)
        self.attempts = settings.GBP_API_ATTEMPTS
        self.quota_retries = settings.GBP_QUOTA_RETRIES
        # Seconds a v4 request waits for its slot at the limiter (None: as long as it takes);
        # longer raises limiter.Busy. For a person waiting on a page (gbp.replies).
        self.max_wait = None
        self.calls = Counter()  # requests sent, per API
        self._count_lock = threading.Lock()
        base = provider.api_base_url

        def service(name, version, host):
            options = {"api_endpoint": base or GOOGLE_HOSTS[host]}
            return build(name, version, http=SeamHttp(host), static_discovery=True,
                         cache_discovery=False, client_options=options)

        self.accounts = service("mybusinessaccountmanagement", "v1", "accounts")
        self.locations = service("mybusinessbusinessinformation", "v1", "locations")
        self.performance = service("businessprofileperformance", "v1", "performance")
        self.reviews_base = base or GOOGLE_HOSTS["reviews"]

    def _count(self, api):
        with self._count_lock:
            self.calls[api] += 1

    def list(self, api, make_request, key):
        """Every item of every page of a list call; raises before returning anything if a
        page fails, so a partial listing is never taken for a complete one."""
        return [item for page in self.pages(api, make_request, key) for item in page]

    def pages(self, api, make_request, key):
        """The items of a list call, a page at a time as each arrives; raises where a page
        fails (what came before it is not the whole listing)."""
        page_token = None
        while True:
            body = self.call(api, lambda: make_request(page_token))
            if not isinstance(body, dict) or not isinstance(body.get(key, []), list):
                raise BadData(f"Google's {key} listing was not in the documented shape.")
            yield body.get(key, [])
            page_token = body.get("nextPageToken")
            if not page_token:
                return
            if not isinstance(page_token, str):
                raise BadData(f"Google's {key} listing had a malformed page token.")

    def call(self, api, make_request):
        """One API call: its limiter slot, the 401 helper, 429s waited out at the limiter (up
        to GBP_QUOTA_RETRIES, then QuotaExhausted), bounded retries for 5xx/network errors."""
        attempt = quota_waits = 0
        while True:
            try:
                return self.tokens.call(lambda token: self._execute(api, make_request, token))
            except ApiError as exc:
                if exc.status_code == 429:
                    quota_waits += 1
                    too_long = (exc.retry_after or 0) > limiter.MAX_PAUSE
                    if too_long or quota_waits > self.quota_retries:
                        raise QuotaExhausted(max(exc.retry_after or 0, RESUME_SECONDS),
                                             exc.retry_after) from None
                    log.info("integration %s: GBP %s quota exceeded; waiting at the limiter",
                             self.integration.pk, api)
                    continue  # the limiter holds the next request back
                attempt += 1
                if exc.status_code < 500 or attempt >= self.attempts:
                    raise as_sync_error(exc) from None
                delay = http.backoff_delay(attempt, exc.retry_after)
            except http.NetworkError as exc:
                attempt += 1
                if attempt >= self.attempts:
                    raise SyncError(exc.code, "Google's API did not answer; the next sync will "
                                              "try again.") from None
                delay = http.backoff_delay(attempt, None)
            log.info("integration %s: GBP call retry %s in %.2fs", self.integration.pk, attempt,
                     delay)
            http.wait(delay)

    def _execute(self, api, make_request, token):
        request = make_request()
        if isinstance(request, V4):
            self._count(api)
            body = json.dumps(request.body) if request.body is not None else None
            headers = {"Content-Type": "application/json"} if body else {}
            response = send(api, request.method, request.url, token, body=body, headers=headers,
                            max_wait=self.max_wait)
            status, content, headers = response.status_code, response.content, response.headers
            if status == 200:
                body = _json(content)
                if body is None:
                    raise BadData("Google's answer was not JSON we could read.")
                return body
        else:
            try:
                return request.execute(http=SeamHttp(api, token, self._count), num_retries=0)
            except HttpError as exc:
                status, content, headers = exc.resp.status, exc.content, exc.resp
            except UNREADABLE:  # a 200 whose body is not JSON, or JSON nested too deep
                raise BadData("Google's answer was not JSON we could read.") from None
        retry_after = http.retry_after_seconds(headers.get("retry-after")
                                               or headers.get("Retry-After"))
        raise ApiError(int(status), _error_message(content, [token, *self.client_secrets]),
                       retry_after)


def as_sync_error(exc: ApiError) -> SyncError:
    error = _sync_error(exc)
    error.http_status = exc.status_code
    return error


def _sync_error(exc: ApiError) -> SyncError:
    detail = f" Google said: {exc.message}" if exc.message else ""
    if exc.status_code == 403:
        return SyncError("permission_denied", f"Google refused access (403). {ENABLE_APIS}"
                                              f"{detail}")
    if exc.status_code >= 500:
        return SyncError(f"http_{exc.status_code}", "Google's API was unavailable "
                                                    f"({exc.status_code}); the next sync "
                                                    "will try again.")
    if exc.status_code == 401:
        return SyncError("unauthorized", "Google rejected the access token even after a "
                                         "refresh; reconnecting may be needed.")
    return SyncError(f"http_{exc.status_code}", f"Google's API answered {exc.status_code}."
                                                f"{detail}")
