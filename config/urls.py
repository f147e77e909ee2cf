from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="integrations:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("integrations/", include("integrations.urls")),
    path("integrations/gbp/", include("gbp.urls")),
]

if settings.SANDBOX_ENABLED:
    # The sandbox provider is a separate app, mounted only when enabled (never in production).
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
