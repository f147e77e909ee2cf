"""Fault injection: the next N calls to an endpoint answer with a chosen failure.

Each fault kind answers the way the real provider does (Google's OAuth error JSON on the token
endpoints, Google's API error JSON on the API, an HTML page where a front end answers HTML).
"""

import functools
import json
import threading
import time

from django.db import connection
from django.db.models import F, Q
from django.http import HttpResponse
from django.utils import timezone

from .conf import MAX_LATENCY_MS
from .models import Call, Fault

OAUTH_ENDPOINTS = {"token", "revoke", "authorize", "userinfo"}

HTML_PAGE = (
    "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error {status} (Server Error)!!1"
    "</title><p><b>{status}.</b> <ins>That's an error.</ins><p>The server encountered a "
    "temporary error and could not complete your request.<p>Please try again in 30 seconds. "
    "<ins>That's all we know.</ins></html>"
)
API_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}
API_MESSAGES = {
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    403: "My Business Business Information API has not been used in project 123456789 before or "
    "it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
    "mybusinessbusinessinformation.googleapis.com/overview?project=123456789 then retry.",
    429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
    "'mybusinessbusinessinformation.googleapis.com' for consumer 'project_number:123456789'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
OAUTH_ERRORS = {
    "invalid_grant": (400, "Token has been expired or revoked."),
    "invalid_client": (401, "The OAuth client was not found."),
    "unauthorized_client": (401, "Unauthorized"),
    "invalid_request": (400, "Bad Request"),
}

KINDS = [
    "500", "502", "503", "429", "403", "401",
    "invalid_grant", "invalid_client", "unauthorized_client",
    "html", "malformed_json", "empty_json", "strip_refresh_token",
    "latency", "slow_answer", "hang", "status",
]


def api_error(status: int, message: str = "") -> HttpResponse:
    """Google's JSON error body for its REST APIs."""
    body = {
        "error": {
            "code": status,
            "message": message or API_MESSAGES.get(status, "Error"),
            "status": API_STATUS.get(status, "UNKNOWN"),
        }
    }
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return response


def oauth_error(error: str, description: str, status: int = 400) -> HttpResponse:
    body = json.dumps({"error": error, "error_description": description})
    return HttpResponse(body, status=status, content_type="application/json")


def fault_response(fault: Fault) -> HttpResponse | None:
    """The response a fault answers with, or None when it only delays the real answer."""
    kind, oauth = fault.kind, fault.endpoint in OAUTH_ENDPOINTS
    if kind in ("latency", "slow_answer", "strip_refresh_token"):
        return None
    if kind == "hang":  # after the wait, a gateway timeout: the provider never processed it
        return HttpResponse(HTML_PAGE.format(status=504), status=504, content_type="text/html")
    if kind == "status":
        ctype = fault.content_type or "application/json"
        response = HttpResponse(fault.body, status=fault.status or 500, content_type=ctype)
    elif kind in OAUTH_ERRORS:
        status, description = OAUTH_ERRORS[kind]
        response = oauth_error(kind, description, fault.status or status)
    elif kind == "html":
        page = HTML_PAGE.format(status=fault.status or 200)
        response = HttpResponse(page, status=fault.status or 200, content_type="text/html")
    elif kind == "malformed_json":
        response = HttpResponse('{"access_token": "ya29.trunc', content_type="application/json")
    elif kind == "empty_json":
        response = HttpResponse("{}", content_type="application/json")
    elif kind == "502":
        response = HttpResponse(HTML_PAGE.format(status=502), status=502, content_type="text/html")
    elif oauth:
        status = int(kind)
        error = {429: "rate_limit_exceeded", 503: "temporarily_unavailable"}.get(status, "server_error")
        if status in (401, 403):
            error = "access_denied" if status == 403 else "invalid_client"
        response = oauth_error(error, f"sandbox fault {status}", status)
    else:
        response = api_error(int(kind))
    if fault.retry_after is not None:
        response["Retry-After"] = str(fault.retry_after)
    return response


def claim_fault(endpoint: str) -> Fault | None:
    """Take one use of the oldest active fault for this endpoint (atomic across processes)."""
    if not _any_fault(endpoint):  # the usual case, asked in one plain statement
        return None
    active = Q(remaining__isnull=True) | Q(remaining__gt=0)
    for fault in Fault.objects.filter(active, endpoint=endpoint)[:5]:
        if fault.remaining is None:
            return fault
        claimed = Fault.objects.filter(pk=fault.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if claimed:
            return fault
    return None


# Every answer asks for a fault and records its call: written once as SQL, these cost a fraction
# of what the ORM spends building them (the sandbox shares the machine with the client it
# serves, so its CPU shows in every benchmark run against it).
def _any_fault(endpoint: str) -> bool:
    table = connection.ops.quote_name(Fault._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE endpoint = %s AND (remaining IS NULL OR "
                       "remaining > 0) LIMIT 1", [endpoint])
        return cursor.fetchone() is not None


def record_call(endpoint: str, detail: str, status: int):
    table = connection.ops.quote_name(Call._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (endpoint, detail, status, created_at) "
                       "VALUES (%s, %s, %s, %s)", [endpoint, detail[:100], status, now])


def strip_refresh_token(response: HttpResponse) -> HttpResponse:
    if response.status_code == 200 and response["Content-Type"].startswith("application/json"):
        payload = json.loads(response.content)
        payload.pop("refresh_token", None)
        response.content = json.dumps(payload)
    return response


class _InFlight:
    """Requests this process is answering (tests wait for a hung one before the next test)."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Condition()

    def __enter__(self):
        with self.lock:
            self.count += 1

    def __exit__(self, *exc):
        with self.lock:
            self.count -= 1
            self.lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.count == 0, timeout)


in_flight = _InFlight()


def faulty(endpoint: str):
    """Wrap a sandbox view: apply an injected fault, and record the call."""

    def decorate(view):
        # functools.wraps carries the view's own csrf_exempt flag: the token endpoint is exempt,
        # the consent form keeps its CSRF protection.
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            with in_flight:
                return answer(request, *args, **kwargs)

        def answer(request, *args, **kwargs):
            fault = claim_fault(endpoint)
            delay = min(fault.latency_ms, MAX_LATENCY_MS) / 1000 if fault else 0
            # "slow_answer" does the work first (a refresh token is rotated), then answers late:
            # a client that dies meanwhile never sees what it was issued.
            if delay and fault.kind != "slow_answer":  # capped here too, whatever wrote the row
                time.sleep(delay)
            response = fault_response(fault) if fault else None
            if response is None:
                response = view(request, *args, **kwargs)
                if fault and fault.kind == "strip_refresh_token":
                    response = strip_refresh_token(response)
                if delay and fault.kind == "slow_answer":
                    time.sleep(delay)
            detail = request.POST.get("grant_type", "") if endpoint == "token" else ""
            record_call(endpoint, detail, response.status_code)
            return response

        return wrapper

    return decorate
