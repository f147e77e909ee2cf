from importlib.util import find_spec

from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.index, name="index"),
    path("owner/", views.choose_owner, name="choose_owner"),
    path("health/", views.health, name="health"),
    path("metrics/", views.metrics, name="metrics"),
    path("connect/<str:provider_id>/", views.connect, name="connect"),
    path("callback/<str:provider_id>/", views.callback, name="callback"),
    path("<int:integration_id>/disconnect/", views.disconnect, name="disconnect"),
    path("<int:integration_id>/remove/", views.remove, name="remove"),
]

# The JSON API (integrations/api/, `api/v1/...`), mounted when django-ninja (the `api` extra) is
# installed.
API_MOUNTED = find_spec("ninja") is not None
if API_MOUNTED:
    from .api.urls import urlpatterns as api_urlpatterns

    urlpatterns += api_urlpatterns
