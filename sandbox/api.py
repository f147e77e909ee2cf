"""The Google Business Profile-shaped API: same paths, parameters and JSON shapes as Google's.

Bearer tokens are checked against the sandbox's authorization server (django-oauth-toolkit).
"""

import base64
import json
from datetime import date

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from oauth2_provider.oauth2_backends import get_oauthlib_core

from . import data
from .conf import GBP_SCOPE
from .faults import api_error, faulty

LOCATION_FIELDS = {
    "name", "title", "storeCode", "storefrontAddress", "websiteUri", "phoneNumbers",
    "categories", "metadata", "openInfo",
}


def authenticate(request, scope=GBP_SCOPE):
    """The user behind the request's bearer token, or an error response shaped like Google's."""
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        return None, api_error(401)
    if scope and not oauth_request.access_token.allow_scopes([scope]):
        return None, api_error(403, "Request had insufficient authentication scopes.")
    return oauth_request.user, None


def page(items, request, default_size, max_size, key):
    """Slice `items` by pageSize/pageToken the way Google's list methods do."""
    try:
        size = int(request.GET.get("pageSize") or default_size)
        token = request.GET.get("pageToken", "")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        return api_error(400, "Invalid pageSize or pageToken.")
    if size <= 0 or offset < 0:
        return api_error(400, "pageSize must be positive.")
    size = min(size, max_size)
    body = {key: items[offset : offset + size]} if items[offset : offset + size] else {}
    if offset + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return body


def respond(body):
    return body if isinstance(body, HttpResponse) else JsonResponse(body)


@require_GET
@faulty("accounts")
def accounts_list(request):
    user, error = authenticate(request)
    if error:
        return error
    return respond(page(data.accounts(user.get_username()), request, 20, 20, "accounts"))


@require_GET
@faulty("locations")
def locations_list(request, account_id):
    user, error = authenticate(request)
    if error:
        return error
    mask = [f.strip() for f in request.GET.get("readMask", "").split(",") if f.strip()]
    if not mask:
        return api_error(400, "Request contains an invalid argument: read_mask is required.")
    if unknown := [f for f in mask if f.split(".")[0] not in LOCATION_FIELDS]:
        return api_error(400, f"Invalid field mask provided: {', '.join(unknown)}")
    if account_id not in data.account_ids(user.get_username()):
        return api_error(404, "Requested entity was not found.")
    top = {f.split(".")[0] for f in mask}
    items = [
        {k: v for k, v in loc.items() if k in top}
        for loc in data.locations(user.get_username(), account_id)
    ]
    body = page(items, request, 10, 100, "locations")
    if isinstance(body, dict) and items:
        body["totalSize"] = len(items)
    return respond(body)


def _date_param(request, prefix):
    return date(
        int(request.GET[f"{prefix}.year"]),
        int(request.GET[f"{prefix}.month"]),
        int(request.GET[f"{prefix}.day"]),
    )


@require_GET
@faulty("metrics")
def fetch_multi_daily_metrics(request, location_id):
    user, error = authenticate(request)
    if error:
        return error
    if data.location_owner(user.get_username(), location_id) is None:
        return api_error(404, "Requested entity was not found.")
    metrics = request.GET.getlist("dailyMetrics")
    try:
        start = _date_param(request, "dailyRange.startDate")
        end = _date_param(request, "dailyRange.endDate")
    except (KeyError, ValueError):
        return api_error(400, "Request contains an invalid argument: dailyRange is invalid.")
    if not metrics or any(m not in data.METRICS for m in metrics):
        return api_error(400, "Request contains an invalid argument: dailyMetrics.")
    if end < start:
        return api_error(400, "Request contains an invalid argument: dailyRange end before start.")
    series = []
    for metric in metrics:
        dated = []
        for day, value in data.daily_values(location_id, metric, start, end):
            entry = {"date": {"year": day.year, "month": day.month, "day": day.day}}
            if value:  # Google omits a zero value: the entry carries only its date
                entry["value"] = str(value)
            dated.append(entry)
        series.append({"dailyMetric": metric, "timeSeries": {"datedValues": dated}})
    return JsonResponse({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]})


@require_GET
@faulty("reviews")
def reviews_list(request, account_id, location_id):
    user, error = authenticate(request)
    if error:
        return error
    if data.location_owner(user.get_username(), location_id) != account_id:
        return api_error(404, "Requested entity was not found.")
    reviews = data.reviews(user.get_username(), location_id)
    body = page(reviews, request, 50, 50, "reviews")
    if isinstance(body, dict):
        stars = [data.STARS.index(r["starRating"]) + 1 for r in reviews]
        if stars:
            body["averageRating"] = round(sum(stars) / len(stars), 1)
        body["totalReviewCount"] = len(reviews)
    return respond(body)


@faulty("userinfo")
def userinfo(request):
    """Google's OpenID Connect userinfo: `sub`, `email`, `name`."""
    user, error = authenticate(request, scope="openid")
    if error:
        return error
    username = user.get_username()
    body = {
        "sub": data.subject_id(username),
        "email": user.email or f"{username}@sandbox.example",
        "email_verified": True,
        "name": user.get_full_name() or username,
    }
    return HttpResponse(json.dumps(body), content_type="application/json")
