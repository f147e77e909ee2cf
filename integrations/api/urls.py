"""The JSON API's one NinjaAPI and its URLs (included by `integrations.urls` as `api/`, namespace
`integrations:api`). Built on first import of this module, after every app's `ready()`: the
consumers' routers (`Consumer.api_router`) are registered by then."""

import functools
import logging

from django.urls import path, re_path
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, errors as ninja_errors
from ninja.openapi.views import openapi_json

from .. import consumers
from ..security import page_headers
from . import VERSION, core, errors
from .auth import AUTH

log = logging.getLogger("integrations.api")

# The namespace `integrations.urls` includes these URLs under (inside the app's own
# `integrations`): ninja reverses its docs and schema views by it.
NAMESPACE = "api"

api = NinjaAPI(
    title="Integrations API",
    version=VERSION,
    description=(
        "Connections of the request's owner (a user, or the team the host's adapter says), "
        "their health and what to do about it, connect and reconnect, disconnect, remove, "
        "refresh now, and what the installed consumer apps offer (Google Business Profile: "
        "Sync now and its progress, the synced data). Session authentication with Django's CSRF "
        "token on state changes (the `X-CSRFToken` header), or a bearer token when the host's "
        "adapter accepts one. Every error has one shape: `code`, `message`, `requires_reauth`, "
        "`retry_after`. Using it from a frontend: docs/api.md."),
    auth=AUTH,
    urls_namespace=f"integrations:{NAMESPACE}",
    docs_url="/docs",
    openapi_url="/openapi.json",
    # The reference page and the schema carry the apps' Content-Security-Policy like every page
    # of theirs: Swagger UI's script and styles come from this site's static files ("ninja" in
    # INSTALLED_APPS; else ninja's page loads them from a CDN, which the policy refuses).
    docs_decorator=page_headers,
)
errors.install(api, ninja_errors=ninja_errors)
api.add_router("", core.router)
for consumer in consumers.all_consumers():
    if consumer.api_router is not None:
        api.add_router("", consumer.api_router())


def _json_405(view):
    """ninja answers a method a path does not take with a bare 405: the API's shape instead
    (its Allow header kept)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            answer = errors.response(405, "method_not_allowed", gettext(
                "This address does not take that method."))
            answer["Allow"] = response.get("Allow", "")
            return answer
        return response

    return wrapper


def _api_urls():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_405(pattern.callback)
    return patterns, app_name, namespace


@csrf_exempt  # it changes nothing: a POST to an address that is not there is a 404, not a 403
@never_cache
def not_found(request, rest=""):
    """Any other address under api/ (an id that is not a number, too): a 404 in the API's shape,
    not the site's HTML page."""
    return page_headers(lambda r: errors.not_found())(request)


@page_headers
@never_cache
def openapi_document(request):
    """`api/openapi.json`: the same document as `api/v1/openapi.json` (its paths carry the
    version)."""
    return openapi_json(request, api)


urlpatterns = [
    path(f"api/v{VERSION}/", _api_urls()),
    path("api/openapi.json", openapi_document, name="openapi"),
    re_path(r"^api/(?P<rest>.*)$", not_found),
]
