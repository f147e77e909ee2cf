from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("integrations/", include("integrations.urls")),
    path("integrations/gbp/", include("gbp.urls")),
]

if getattr(settings, "SANDBOX_ENABLED", False):
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
