from django.urls import path

from . import pages, views

app_name = "gbp"

urlpatterns = [
    path("", views.owner_overview, name="owner_overview"),
    path("locations.csv", pages.export_locations, name="owner_export_locations"),
    path("daily.csv", pages.export_daily, name="owner_export_daily"),
    path("<int:integration_id>/", views.detail, name="detail"),
    path("<int:integration_id>/sync/", views.sync, name="sync"),
    path("<int:integration_id>/sync/status/", views.sync_status, name="sync_status"),
    path("<int:integration_id>/locations.csv", pages.export_locations, name="export_locations"),
    path("<int:integration_id>/daily.csv", pages.export_daily, name="export_daily"),
    path("<int:integration_id>/locations/<int:location_id>/", pages.location, name="location"),
    path("<int:integration_id>/locations/<int:location_id>/daily.csv", pages.export_daily,
         name="export_location_daily"),
    path("<int:integration_id>/reviews/", pages.reviews, name="reviews"),
    path("<int:integration_id>/reviews/<int:review_id>/reply/", pages.reply, name="reply"),
    path("<int:integration_id>/reviews/<int:review_id>/reply/delete/", pages.delete_reply,
         name="delete_reply"),
]
