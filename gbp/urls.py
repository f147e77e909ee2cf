from django.urls import path

from . import views

app_name = "gbp"

urlpatterns = [
    path("<int:integration_id>/", views.detail, name="detail"),
    path("<int:integration_id>/sync/", views.sync, name="sync"),
    path("<int:integration_id>/sync/status/", views.sync_status, name="sync_status"),
]
