from django.urls import path

from . import views

app_name = "gbp"

urlpatterns = [
    path("<int:integration_id>/", views.detail, name="detail"),
    path("<int:integration_id>/sync/", views.sync, name="sync"),
]
