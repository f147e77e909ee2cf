from django.urls import include, path, re_path
from oauth2_provider import views as oauth_views

from . import api, introspection, views
from .faults import faulty

app_name = "sandbox"

# django-oauth-toolkit's endpoints, each behind the fault injector.
oauth_patterns = [
    path("authorize/", faulty("authorize")(views.ConsentView.as_view()), name="authorize"),
    path("token/", faulty("token")(oauth_views.TokenView.as_view()), name="token"),
    path("revoke_token/", faulty("revoke")(oauth_views.RevokeTokenView.as_view()),
         name="revoke-token"),
    # RFC 7662, for a mail server that validates tokens with the sandbox (tests/mail).
    path("introspect/", introspection.introspect, name="introspect"),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("faults/inject/", views.inject, name="inject"),
    path("faults/clear/", views.clear, name="clear"),
    path("me/expire/", views.expire, name="expire"),
    path("me/revoke/", views.revoke, name="revoke"),
    path("o/", include((oauth_patterns, "oauth2_provider"))),
    path("userinfo", api.userinfo, name="userinfo"),
    # Google Business Profile-shaped API (each Google API host maps to this one prefix).
    path("gbp/v1/accounts", api.accounts_list, name="accounts"),
    path("gbp/v1/accounts/<str:account_id>/locations", api.locations_list, name="locations"),
    re_path(
        r"^gbp/v1/locations/(?P<location_id>[^/:]+):fetchMultiDailyMetricsTimeSeries$",
        api.fetch_multi_daily_metrics,
        name="metrics",
    ),
    path(
        "gbp/v4/accounts/<str:account_id>/locations/<str:location_id>/reviews",
        api.reviews_list,
        name="reviews",
    ),
    path(
        "gbp/v4/accounts/<str:account_id>/locations/<str:location_id>/reviews/<str:review_id>"
        "/reply",
        api.review_reply,
        name="review-reply",
    ),
    re_path(
        r"^gbp/v4/accounts/(?P<account_id>[^/:]+)/locations:batchGetReviews$",
        api.reviews_batch,
        name="reviews-batch",
    ),
]
