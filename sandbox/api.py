"""The Google Business Profile-shaped API: same paths, parameters and JSON shapes as Google's.

Bearer tokens are checked against the sandbox's authorization server (django-oauth-toolkit).
"""

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.models import get_access_token_model

from . import data
from .conf import GBP_SCOPE
from .faults import api_error, faulty
from .models import Reply
from .quota import metered

LOCATION_FIELDS = {
    "name", "title", "storeCode", "storefrontAddress", "websiteUri", "phoneNumbers",
    "categories", "metadata", "openInfo",
}


@dataclass(frozen=True)
class Bearer:
    """Who a valid access token was issued to."""

    user_id: int
    username: str


@functools.cache
def _token_sql(vendor):
    token, user = get_access_token_model()._meta, get_user_model()._meta
    q = connection.ops.quote_name
    column = {name: q(token.get_field(name).column) for name in ("scope", "user", "expires",
                                                                  "token_checksum")}
    username = q(user.get_field(get_user_model().USERNAME_FIELD).column)
    return (f"SELECT t.{column['scope']}, u.{q(user.pk.column)}, u.{username} "
            f"FROM {q(token.db_table)} t JOIN {q(user.db_table)} u "
            f"ON u.{q(user.pk.column)} = t.{column['user']} "
            f"WHERE t.{column['token_checksum']} = %s AND t.{column['expires']} > %s")


def authenticate(request, scope=GBP_SCOPE):
    """(Bearer, None) for a valid, unexpired access token of django-oauth-toolkit's with
    `scope`, else (None, an error response shaped like Google's). One statement, written once:
    the toolkit's resource-server check built an ORM query over three tables per answer, most
    of an answer's CPU on a machine the sandbox shares with the client it serves."""
    kind, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        return None, api_error(401)
    checksum = hashlib.sha256(token.encode()).hexdigest()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(connection.vendor), [checksum, now])
        row = cursor.fetchone()
    if row is None:
        return None, api_error(401)
    if scope and scope not in (row[0] or "").split():
        return None, api_error(403, "Request had insufficient authentication scopes.")
    return Bearer(row[1], row[2]), None


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
    bearer, error = authenticate(request)
    if error:
        return error
    return respond(page(data.accounts(bearer.username), request, 20, 20, "accounts"))


@require_GET
@faulty("locations")
@metered("locations")
def locations_list(request, account_id):
    bearer, error = authenticate(request)
    if error:
        return error
    mask = [f.strip() for f in request.GET.get("readMask", "").split(",") if f.strip()]
    if not mask:
        return api_error(400, "Request contains an invalid argument: read_mask is required.")
    if unknown := [f for f in mask if f.split(".")[0] not in LOCATION_FIELDS]:
        return api_error(400, f"Invalid field mask provided: {', '.join(unknown)}")
    if account_id not in data.account_ids(bearer.username):
        return api_error(404, "Requested entity was not found.")
    top = {f.split(".")[0] for f in mask}
    items = [
        {k: v for k, v in loc.items() if k in top}
        for loc in data.locations(bearer.username, account_id)
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
    bearer, error = authenticate(request)
    if error:
        return error
    if data.location_owner(bearer.username, location_id) is None:
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
    # Written as text: a backfill's answer holds 630 dated values, and building and encoding
    # a dict per value was most of the sandbox's CPU in a sync of 1,000 locations. The same
    # JSON as json.dumps would write (tests read it back with json.loads).
    days = (end - start).days + 1
    dates = ['{"date": {"year": %d, "month": %d, "day": %d}' % (d.year, d.month, d.day)
             for d in (start + timedelta(n) for n in range(days))]
    series = []
    for metric in metrics:
        # Google omits a zero value: the entry carries only its date.
        dated = ", ".join(f'{when}, "value": "{value}"}}' if value else f"{when}}}"
                          for when, value in zip(dates, data.values(location_id, metric, start,
                                                                    days)))
        series.append(f'{{"dailyMetric": {json.dumps(metric)}, "timeSeries": '
                      f'{{"datedValues": [{dated}]}}}}')
    body = '{"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [%s]}]}' % ", ".join(series)
    return HttpResponse(body, content_type="application/json")


@require_GET
@faulty("reviews")
@metered("reviews")
def reviews_list(request, account_id, location_id):
    bearer, error = authenticate(request)
    if error:
        return error
    if data.location_owner(bearer.username, location_id) != account_id:
        return api_error(404, "Requested entity was not found.")
    username = bearer.username
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
    bearer, error = authenticate(request)
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
    username = bearer.username
    asked = {}
    for name in dict.fromkeys(names):
        match = LOCATION_NAME.match(name)
        owner = data.location_owner(username, match[2]) if match else None
        if not match or match[1] != account_id or owner != account_id:
            return api_error(404, "Requested entity was not found.")
        asked[name] = match[2]
    replies = written_replies(username, list(asked.values()))
    ignore = bool(body.get("ignoreRatingOnlyReviews"))
    asked = tuple(asked.items())
    if replies:
        entries = _batch_entries(username, asked, order, ignore, replies)
    else:  # the generated reviews as they are: the same for every page of a listing
        entries = _generated_entries(username, asked, order, ignore)
    return respond(page(entries, request, 50, 50, "locationReviews", params=body))


@functools.lru_cache(maxsize=64)
def _generated_entries(username, asked, order, ignore):
    """_batch_entries with no written replies, kept: a listing of 50 locations' 1,000 reviews
    is read 50 at a time, and each page sorted them all again (most of the sandbox's CPU when
    a first sync lists 20,000 reviews)."""
    return _batch_entries(username, asked, order, ignore, {})


def _batch_entries(username, asked, order, ignore, replies):
    """The listing's entries in order: ((name, location id), ...) -> [{"name", "review"}]."""
    items = []
    for name, location_id in asked:
        reviews = data.with_replies(data.reviews(username, location_id),
                                    replies.get(location_id, {}))
        items += [(name, review) for review in reviews
                  if not (ignore and not review.get("comment"))]
    if order == "updateTime desc":
        items.sort(key=lambda item: (item[1]["updateTime"], item[0], item[1]["reviewId"]),
                   reverse=True)
    else:
        items.sort(key=lambda item: (_stars(item[1]), item[0], item[1]["reviewId"]),
                   reverse=order == "rating desc")
    return [{"name": name, "review": review} for name, review in items]


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
    bearer, error = authenticate(request)
    if error:
        return error
    username = bearer.username
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
    bearer, error = authenticate(request, scope="openid")
    if error:
        return error
    username = bearer.username
    user = get_user_model().objects.filter(pk=bearer.user_id).first()
    if user is None:  # removed since the token was checked
        return api_error(401)
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
