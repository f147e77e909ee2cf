from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

from accounts.views import api_demo, set_language
from integrations.urls import API_MOUNTED

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<circle cx="5" cy="8" r="3.5" fill="none" stroke="#0969da" stroke-width="2"/>'
           '<circle cx="11" cy="8" r="3.5" fill="none" stroke="#1a7f37" stroke-width="2"/></svg>')


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico on every first load (the admin's pages too)."""
    return HttpResponse(FAVICON, content_type="image/svg+xml")


# The admin's navigation sidebar takes a quarter of a 1280 px screen from every list; the
# breadcrumbs and the index do its job in the demo.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="integrations:index", permanent=False)),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # The language switcher posts here: Django's set_language (django.conf.urls.i18n's), which
    # the demo wraps to keep a signed-in user's choice on their account (their emails are
    # written in it).
    path("i18n/setlang/", set_language, name="set_language"),
    path("integrations/", include("integrations.urls")),
    path("integrations/gbp/", include("gbp.urls")),
]

if API_MOUNTED:
    # A page that uses only the JSON API (integrations/api/), as a single-page frontend would.
    urlpatterns.append(path("api-demo/", api_demo, name="api_demo"))

if settings.SANDBOX_ENABLED:
    # The sandbox provider is a separate app, mounted only when enabled (never in production).
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
