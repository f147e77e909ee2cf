"""The Google Business Profile-shaped API: same paths, parameters and JSON shapes as Google's.

Bearer tokens are checked against the sandbox's authorization server (django-oauth-toolkit).
"""

import base64
import json
import re
from datetime import date

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.oauth2_backends import get_oauthlib_core

from . import data
from .conf import GBP_SCOPE
from .faults import api_error, faulty
from .models import Reply
from .quota import metered

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


def page(items, request, default_size, max_size, key, params=None):
    """Slice `items` by pageSize/pageToken the way Google's list methods do (from the query
    string, or from `params`: a POST method's JSON body)."""
    params = request.GET if params is None else params
    try:
        size = int(params.get("pageSize") or default_size)
        token = str(params.get("pageToken") or "")
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except (TypeError, ValueError):
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
@metered("accounts")
def accounts_list(request):
    user, error = authenticate(request)
    if error:
        return error
    return respond(page(data.accounts(user.get_username()), request, 20, 20, "accounts"))


@require_GET
@faulty("locations")
@metered("locations")
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
@metered("metrics")
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
@metered("reviews")
def reviews_list(request, account_id, location_id):
    user, error = authenticate(request)
    if error:
        return error
    if data.location_owner(user.get_username(), location_id) != account_id:
        return api_error(404, "Requested entity was not found.")
    username = user.get_username()
    reviews = data.with_replies(data.reviews(username, location_id),
                                written_replies(username, [location_id]).get(location_id, {}))
    body = page(reviews, request, 50, 50, "reviews")
    if isinstance(body, dict):
        stars = [data.STARS.index(r["starRating"]) + 1 for r in reviews]
        if stars:
            body["averageRating"] = round(sum(stars) / len(stars), 1)
        body["totalReviewCount"] = len(reviews)
    return respond(body)


LOCATION_NAME = re.compile(r"^accounts/([^/]+)/locations/([^/]+)$")
REVIEW_ORDERS = {"updateTime desc", "rating", "rating desc"}
BATCH_MAX_LOCATIONS = 50


def _stars(review):
    return data.STARS.index(review["starRating"]) + 1


@csrf_exempt
@require_POST
@faulty("reviews")
@metered("reviews")
def reviews_batch(request, account_id):
    """v4 accounts.locations.batchGetReviews: the reviews of many locations of one account,
    paged together, newest update first by default."""
    user, error = authenticate(request)
    if error:
        return error
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return api_error(400, "Invalid JSON payload received.")
    names = body.get("locationNames") if isinstance(body, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return api_error(400, "Request contains an invalid argument: location_names.")
    if len(names) > BATCH_MAX_LOCATIONS:
        return api_error(400, f"Request contains an invalid argument: at most "
                              f"{BATCH_MAX_LOCATIONS} location_names.")
    order = body.get("orderBy") or "updateTime desc"
    if order not in REVIEW_ORDERS:
        return api_error(400, "Request contains an invalid argument: order_by.")
    username = user.get_username()
    asked = {}
    for name in dict.fromkeys(names):
        match = LOCATION_NAME.match(name)
        owner = data.location_owner(username, match[2]) if match else None
        if not match or match[1] != account_id or owner != account_id:
            return api_error(404, "Requested entity was not found.")
        asked[name] = match[2]
    replies = written_replies(username, list(asked.values()))
    items = []
    for name, location_id in asked.items():
        reviews = data.with_replies(data.reviews(username, location_id),
                                    replies.get(location_id, {}))
        items += [(name, review) for review in reviews
                  if not (body.get("ignoreRatingOnlyReviews") and not review.get("comment"))]
    if order == "updateTime desc":
        items.sort(key=lambda item: (item[1]["updateTime"], item[0], item[1]["reviewId"]),
                   reverse=True)
    else:
        items.sort(key=lambda item: (_stars(item[1]), item[0], item[1]["reviewId"]),
                   reverse=order == "rating desc")
    entries = [{"name": name, "review": review} for name, review in items]
    return respond(page(entries, request, 50, 50, "locationReviews", params=body))


REPLY_MAX_BYTES = 4096  # Google's limit on ReviewReply.comment


def written_replies(username, location_ids) -> dict:
    """{location id: {review id: (comment, update time, deleted)}}: the replies written or
    deleted through the API at these locations (one query)."""
    found = {}
    rows = Reply.objects.filter(username=username, location_id__in=location_ids).values_list(
        "location_id", "review_id", "comment", "update_time", "deleted")
    for location_id, review_id, comment, updated, deleted in rows:
        found.setdefault(location_id, {})[review_id] = (comment, updated, deleted)
    return found


@csrf_exempt
@require_http_methods(["PUT", "DELETE"])
@faulty("reply")
@metered("reviews")
def review_reply(request, account_id, location_id, review_id):
    """v4 accounts.locations.reviews.updateReply (PUT: creates or replaces the reply, answers
    the ReviewReply) and deleteReply (DELETE: answers {}). The reply is kept per user, location
    and review, and shows in reviews.list and batchGetReviews from then on."""
    user, error = authenticate(request)
    if error:
        return error
    username = user.get_username()
    if (data.location_owner(username, location_id) != account_id
            or data.review(username, location_id, review_id) is None):
        return api_error(404, "Requested entity was not found.")
    key = {"username": username, "location_id": location_id, "review_id": review_id}
    now = timezone.now().replace(microsecond=0)
    if request.method == "DELETE":
        current = data.with_replies([data.review(username, location_id, review_id)],
                                    written_replies(username, [location_id]).get(location_id, {}))
        if "reviewReply" in current[0]:  # deleting no reply changes nothing
            Reply.objects.update_or_create(**key, defaults={"comment": "", "deleted": True,
                                                            "update_time": now})
        return JsonResponse({})
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return api_error(400, "Invalid JSON payload received.")
    comment = body.get("comment") if isinstance(body, dict) else None
    if not isinstance(comment, str) or not comment.strip():
        return api_error(400, "Request contains an invalid argument: comment is required.")
    if len(comment.encode()) > REPLY_MAX_BYTES:
        return api_error(400, f"Request contains an invalid argument: comment is longer than "
                              f"{REPLY_MAX_BYTES} bytes.")
    Reply.objects.update_or_create(**key, defaults={"comment": comment, "deleted": False,
                                                    "update_time": now})
    return JsonResponse({"comment": comment, "updateTime": data.stamp(now)})


@faulty("userinfo")
def userinfo(request):
    """Google's OpenID Connect userinfo: `sub`, `email`, `name`."""
    user, error = authenticate(request, scope="openid")
    if error:
        return error
    username = user.get_username()
    body = {
        "sub": data.subject_id(username),
        "email": account_email(user),
        "email_verified": True,
        "name": _full_name(user) or username,
    }
    return HttpResponse(json.dumps(body), content_type="application/json")


def account_email(user) -> str:
    """The account's address, as userinfo and token introspection give it."""
    username = user.get_username()
    return _email(user) or (username if "@" in username else f"{username}@sandbox.example")


def _email(user) -> str:
    """The user's address, whatever the user model calls its email field (or has none)."""
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    value = getattr(user, field, "")
    return value if isinstance(value, str) and "@" in value else ""


def _full_name(user) -> str:
    full_name = getattr(user, "get_full_name", None)
    return str(full_name() or "") if callable(full_name) else ""
