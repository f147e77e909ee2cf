"""One shape for every error of the JSON API (`schemas.Error`): {"code", "message",
"requires_reauth", "retry_after"}, whatever raised it: an endpoint (`ApiError`), the token
service (`ReauthRequired`, `RefreshFailed`), the adapter (a 404, a 403), ninja (no session, a
failed CSRF check, a request that does not validate, a throttle) or a bug (a 500 without its
text). The message is plain words in the request's language; no error carries a token, a
client secret or a provider's text."""

import logging
import math
import traceback

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext

from .. import display
from ..errors import ErrorKind
from ..models import Integration
from ..providers import registry
from ..tokens import ReauthRequired, RefreshFailed, TokenError

log = logging.getLogger("integrations.api")

# The statuses an operation documents besides its success (the OpenAPI document lists them, and
# the fuzz test holds every answer to it).
AUTH = (401, 403)  # no session or credential; a refused action, a failed CSRF check
READ = (*AUTH, 404, 422)
WRITE = (400, *READ, 409, 429)  # 400: a body that is not JSON


class ApiError(Exception):
    """An endpoint's refusal: its status and the body's fields."""

    def __init__(self, status, code, message, *, requires_reauth=False, retry_after=None):
        self.status, self.code, self.message = status, code, str(message)
        self.requires_reauth, self.retry_after = requires_reauth, retry_after
        super().__init__(code)


def body(code, message, *, requires_reauth=False, retry_after=None) -> dict:
    if retry_after is not None:
        retry_after = max(1, math.ceil(retry_after))
    return {"code": code, "message": str(message), "requires_reauth": requires_reauth,
            "retry_after": retry_after}


def response(status, code, message, **fields) -> JsonResponse:
    data = body(code, message, **fields)
    answer = JsonResponse(data, status=status)
    if data["retry_after"] is not None:
        answer["Retry-After"] = str(data["retry_after"])
    return answer


def not_found():
    return response(404, "not_found", gettext("There is nothing here, or it is not yours."))


def token_error(exc: TokenError) -> ApiError:
    """What the token service's refusal means to the user (display's words, never its text)."""
    integration = Integration.objects.filter(pk=exc.integration_id).only("provider").first()
    name = registry.name_of(integration.provider) if integration else ""
    if isinstance(exc, ReauthRequired):
        if integration is not None and integration.status == Integration.Status.DISCONNECTED:
            return ApiError(409, "disconnected", gettext(
                "This connection is disconnected: connect it again to use it."))
        return ApiError(409, "reauth_required", gettext("{reason} Reconnect to continue.").format(
            reason=display.reauth_reason(exc.code, name)), requires_reauth=True)
    retry = getattr(exc, "retry_after", None)
    if isinstance(exc, RefreshFailed) and exc.kind == ErrorKind.OPERATOR:
        return ApiError(503, "provider_misconfigured", display.operator_words(name),
                        retry_after=retry)
    return ApiError(503, "provider_unavailable", display.transient_words(name),
                    retry_after=retry if retry is not None else 60)


def install(api, *, ninja_errors):
    """Register the handlers on a NinjaAPI (`ninja_errors`: the ninja.errors module)."""

    def api_error(request, exc):
        return response(exc.status, exc.code, exc.message, requires_reauth=exc.requires_reauth,
                        retry_after=exc.retry_after)

    def token(request, exc):
        return api_error(request, token_error(exc))

    def missing(request, exc):
        return not_found()

    def refused(request, exc):
        # The adapter's refusal names the action in words (integrations.adapter.REFUSED).
        words = str(exc) if exc.args else gettext("You may not do this.")
        return response(403, "forbidden", words)

    def unauthenticated(request, exc):
        return response(401, "not_authenticated", gettext(
            "Sign in first (or send the credential your site issued)."))

    def http_error(request, exc):
        status = exc.status_code
        if status == 403 and "csrf" in str(exc).lower():
            return response(403, "csrf_failed", gettext(
                "This request lacks its CSRF token: send the csrftoken cookie's value in the "
                "X-CSRFToken header."))
        if status == 404:
            return not_found()
        if status == 405:
            return response(405, "method_not_allowed", gettext(
                "This address does not take that method."))
        if 400 <= status < 500:
            return response(status, "bad_request", gettext("This request is not valid."))
        log.error("API answered %s to %s %s", status, request.method, request.path)
        return response(status, "server_error", gettext(
            "Something went wrong on our side; it has been logged."))

    def invalid(request, exc):
        fields = sorted({".".join(str(part) for part in error.get("loc", ()) if part != "body")
                         for error in getattr(exc, "errors", [])} - {""})
        return response(422, "invalid_request", gettext(
            "These fields are missing or not valid: {fields}.").format(
            fields=", ".join(fields) or "?") if fields else gettext("This request is not valid."))

    def throttled(request, exc):
        return response(429, "throttled", gettext(
            "Too many requests of this kind: try again in a moment."),
            retry_after=getattr(exc, "wait", None) or 1)

    def crashed(request, exc):
        # The traceback for operators, without the exception's text (it may quote whatever the
        # failing code held); plain words for the caller.
        log.error("API %s %s failed with %s; traceback (message withheld):\n%s",
                  request.method, request.path, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        return response(500, "server_error", gettext(
            "Something went wrong on our side; it has been logged."))

    api.add_exception_handler(Exception, crashed)
    api.add_exception_handler(ApiError, api_error)
    api.add_exception_handler(TokenError, token)
    api.add_exception_handler(Http404, missing)
    api.add_exception_handler(PermissionDenied, refused)
    api.add_exception_handler(ninja_errors.AuthenticationError, unauthenticated)
    api.add_exception_handler(ninja_errors.HttpError, http_error)
    api.add_exception_handler(ninja_errors.ValidationError, invalid)
    api.add_exception_handler(ninja_errors.Throttled, throttled)
    if hasattr(ninja_errors, "AuthorizationError"):
        api.add_exception_handler(ninja_errors.AuthorizationError, refused)
