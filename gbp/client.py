"""Google's Business Profile APIs, as the sync and the connect-time label call them.

google-api-python-client runs with its static discovery documents and an http object that
sends through the core's one HTTP seam (`integrations.http`). Every call goes through the token
service's 401 helper (one forced refresh, one retry) and bounded retries on 429, 5xx and network
errors, waiting where the core's provider calls wait (`integrations.http.wait`).
"""

import json
import logging

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations import http, tokens

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


class ApiError(Exception):
    """A Google API answer other than 2xx (after our retries)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        self.status_code = status
        self.retry_after = retry_after
        super().__init__(f"{status}: {message}")
        self.message = message


class SyncError(Exception):
    def __init__(self, code, message):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def _json(content):
    try:
        return json.loads(content)
    except ValueError:
        return None


def _error_message(content) -> str:
    body = _json(content)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("status") or "")[:500]
    return ""


class SeamHttp:
    """An httplib2.Http look-alike for googleapiclient that sends through integrations.http
    with the current bearer token (set by the caller before each request)."""

    def __init__(self):
        self.token = ""

    def request(self, uri, method="GET", body=None, headers=None, redirections=5,
                connection_type=None):
        headers = dict(headers or {})
        headers["Authorization"] = f"Bearer {self.token}"
        response = http.request(method, uri, data=body, headers=headers)
        info = httplib2.Response({"status": str(response.status_code), **response.headers})
        info.reason = response.reason
        return info, response.content


def account_label(provider, access_token) -> str:
    """The first Business Profile account's name, to label a new connection (best effort: a
    project without API access yet answers 403, and the connection is still worth keeping)."""
    base = provider.api_base_url or GOOGLE_HOSTS["accounts"]
    try:
        response = http.request("GET", f"{base}v1/accounts?pageSize=1",
                                headers={"Authorization": f"Bearer {access_token}"})
    except http.NetworkError:
        return ""
    body = _json(response.content) if response.status_code == 200 else None
    accounts = body.get("accounts") if isinstance(body, dict) else None
    if isinstance(accounts, list) and accounts and isinstance(accounts[0], dict):
        return str(accounts[0].get("accountName") or "")[:120]
    return ""


class GbpApi:
    """The three discovery-based APIs and the v4 reviews endpoint, for one integration."""

    def __init__(self, integration, provider):
        self.integration = integration
        self.http = SeamHttp()
        self.attempts = settings.GBP_API_ATTEMPTS
        base = provider.api_base_url

        def service(name, version, host):
            options = {"api_endpoint": base or GOOGLE_HOSTS[host]}
            return build(name, version, http=self.http, static_discovery=True,
                         cache_discovery=False, client_options=options)

        self.accounts = service("mybusinessaccountmanagement", "v1", "accounts")
        self.locations = service("mybusinessbusinessinformation", "v1", "locations")
        self.performance = service("businessprofileperformance", "v1", "performance")
        self.reviews_base = base or GOOGLE_HOSTS["reviews"]

    def list(self, make_request, key):
        """Every page of a list call; raises before returning anything if a page fails."""
        return self.pages(make_request, key)[0]

    def pages(self, make_request, key):
        """(every item over all pages, the last page's body: it carries list-wide totals)."""
        items, page_token = [], None
        while True:
            body = self.call(lambda: make_request(page_token))
            items += body.get(key, [])
            page_token = body.get("nextPageToken")
            if not page_token:
                return items, body

    def call(self, make_request):
        """One API call: the 401 helper, bounded retries for 429/5xx/network errors."""
        for attempt in range(1, self.attempts + 1):
            try:
                return tokens.with_token(self.integration, lambda token: self._execute(
                    make_request, token))
            except ApiError as exc:
                retryable = exc.status_code == 429 or exc.status_code >= 500
                if not retryable or attempt == self.attempts:
                    raise as_sync_error(exc) from None
                delay = http.backoff_delay(attempt, exc.retry_after)
            except http.NetworkError as exc:
                if attempt == self.attempts:
                    raise SyncError(exc.code, "Google's API did not answer; the next sync will "
                                              "try again.") from None
                delay = http.backoff_delay(attempt, None)
            log.info("integration %s: GBP call retry %s in %.2fs", self.integration.pk, attempt,
                     delay)
            http.wait(delay)
        raise AssertionError("unreachable")

    def _execute(self, make_request, token):
        self.http.token = token
        request = make_request()
        if isinstance(request, str):  # a v4 URL: no discovery document ships for v4
            response = http.request("GET", request, headers={"Authorization": f"Bearer {token}"})
            status, content, headers = response.status_code, response.content, response.headers
            if status == 200:
                return _json(response.content) or {}
        else:
            try:
                return request.execute(num_retries=0)
            except HttpError as exc:
                status, content, headers = exc.resp.status, exc.content, exc.resp
        retry_after = http.retry_after_seconds(headers.get("retry-after")
                                               or headers.get("Retry-After"))
        raise ApiError(int(status), _error_message(content), retry_after)


def as_sync_error(exc: ApiError) -> SyncError:
    detail = f" Google said: {exc.message}" if exc.message else ""
    if exc.status_code == 403:
        return SyncError("permission_denied", f"Google refused access (403). {ENABLE_APIS}"
                                              f"{detail}")
    if exc.status_code == 429:
        return SyncError("rate_limited", "Google's quota for the Business Profile APIs was "
                                         "exceeded; the next sync will try again.")
    if exc.status_code >= 500:
        return SyncError(f"http_{exc.status_code}", "Google's API was unavailable "
                                                    f"({exc.status_code}); the next sync "
                                                    "will try again.")
    if exc.status_code == 401:
        return SyncError("unauthorized", "Google rejected the access token even after a "
                                         "refresh; reconnecting may be needed.")
    return SyncError(f"http_{exc.status_code}", f"Google's API answered {exc.status_code}."
                                                f"{detail}")
