"""The Business Profile endpoints of the JSON API: Sync now and its progress, and the synced
data (accounts, locations with their daily metrics, reviews). The core's API mounts this router
(gbp.apps registers it as the consumer's `api_router`); every endpoint is scoped through the
host's adapter like the detail page: another owner's integration is a 404."""

from datetime import date, datetime, timedelta

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Path, Query, Router, Schema, Status

from integrations import display
from integrations.adapter import integration_or_404
from integrations.api import schemas as api_schemas
from integrations.api.auth import throttle
from integrations.api.errors import READ, WRITE, ApiError
from integrations.api.schemas import IntegrationId, errors
from integrations.models import Integration
from integrations.providers import registry

from . import replies, state as sync_state
from .models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview, GbpSyncState
from .providers import is_gbp
from .views import not_now, progress, synced

router = Router(tags=["google business profile"])

# The longest date range one request reads metrics for, and the default one (like the page's
# charts: the 30 days up to the last day stored).
MAX_DAYS = 366
DEFAULT_DAYS = 30


class SyncProgress(Schema):
    syncing: bool = Field(description="A sync is queued, running or paused for Google's quota.")
    text: str = Field(description="Its progress in plain words (\"\" when none is under way).")
    done: int = Field(description="Locations synced so far in this run.")
    total: int = Field(description="Locations this run syncs (0 until they are listed).")
    last_sync: api_schemas.LastSync
    result: str | None = Field(description="What the last sync did, in plain words (null "
                                           "before the first).")


class Account(Schema):
    id: int
    name: str = Field(description="Google's resource name, `accounts/...`.")
    account_name: str
    type: str
    role: str


class AccountPage(Schema):
    items: list[Account]
    count: int
    page: int
    page_size: int


class DailyValue(Schema):
    date: date
    value: int


class Location(Schema):
    id: int
    account: int
    name: str = Field(description="Google's resource name, `locations/...`.")
    title: str
    store_code: str
    address: str
    website: str
    phone: str
    category: str
    maps_uri: str
    average_rating: float | None
    total_review_count: int
    metrics: dict[str, list[DailyValue]] = Field(
        description="Daily values by metric (Google's names: `CALL_CLICKS`, "
                    "`BUSINESS_IMPRESSIONS_MOBILE_MAPS`, ...) from `start` to `end`; a day "
                    "Google has no value for is absent.")


class LocationPage(Schema):
    items: list[Location]
    count: int
    page: int
    page_size: int
    start: date | None = Field(description="The metrics' first day (null: nothing synced yet).")
    end: date | None


class Reply(Schema):
    comment: str
    update_time: datetime | None


class Review(Schema):
    id: int
    location: int
    reviewer_name: str
    star_rating: int = Field(description="1 to 5; 0 when Google gave none.")
    comment: str
    create_time: datetime | None
    update_time: datetime | None
    reply: Reply | None


class ReviewPage(Schema):
    items: list[Review]
    count: int
    page: int
    page_size: int


class ReplyIn(Schema):
    comment: str = Field(max_length=5000, description="The reply's text (Google takes at most "
                                                      "4096 bytes of UTF-8).")


def _gbp(request, integration_id, action="view"):
    """A Business Profile integration this request may see (and do `action` to)."""
    integration = integration_or_404(request, integration_id, action)
    provider = registry.find(integration.provider)
    if not is_gbp(provider):
        raise ApiError(404, "not_found", gettext("There is nothing here, or it is not yours."))
    return integration, provider


def _sync_progress(integration) -> dict:
    integration.refresh_from_db(fields=["last_sync_status", "last_sync_message",
                                        "last_synced_at", "status"])
    state = GbpSyncState.objects.filter(integration=integration).first()
    now = progress(state)
    name = registry.name_of(integration.provider)
    if integration.last_sync_status == Integration.SyncStatus.OK:
        result = synced(integration, state)
    elif integration.last_sync_status == Integration.SyncStatus.ERROR:
        result = display.sync_problem(display.last_sync_code(integration), name)
    else:
        result = None
    return {"syncing": now["syncing"], "text": now["text"], "done": now["done"],
            "total": now["total"], "result": result or None,
            "last_sync": {"status": integration.last_sync_status,
                          "at": integration.last_synced_at}}


def _page(rows, page, page_size):
    start = (page - 1) * page_size
    return list(rows[start:start + page_size]), rows.count()


PAGE = Query(1, ge=1, le=api_schemas.MAX_PAGE)
PAGE_SIZE = Query(api_schemas.DEFAULT_PAGE_SIZE, ge=1, le=api_schemas.MAX_PAGE_SIZE)


@router.post("/integrations/{int:integration_id}/sync",
             response={202: SyncProgress, **{**errors(WRITE), 503: api_schemas.Error}},
             throttle=throttle("sync"), summary="Sync now", url_name="gbp_sync")
def sync_now(request, integration_id: int = IntegrationId):
    """Queue a sync (on a site without a worker, on a background thread), with the page's rules:
    not while one is under way (409 `sync_under_way`), not within GBP_SYNC_NOW_MIN_INTERVAL of
    the account's last one (429 `sync_throttled`, with `retry_after`). Then poll `GET` on the
    same path until `syncing` is false."""
    from .tasks import queue_down, sync_now

    integration, _provider = _gbp(request, integration_id, "sync")
    if integration.status != Integration.Status.ACTIVE:
        raise ApiError(409, "cannot_sync", gettext("This connection cannot be synced right now."),
                       requires_reauth=integration.status == Integration.Status.REAUTH_REQUIRED)
    started, state = sync_now(integration.pk, timezone.now())
    if started is None:
        if sync_state.is_syncing(state):
            raise ApiError(409, "sync_under_way", not_now(state))
        raise ApiError(429, "sync_throttled", not_now(state),
                       retry_after=sync_state.seconds_until_allowed(state))
    if not started:
        raise ApiError(503, "queue_unavailable", queue_down(), retry_after=60)
    return Status(202, _sync_progress(integration))


@router.get("/integrations/{int:integration_id}/sync", response={200: SyncProgress, **errors(READ)},
            summary="Sync progress", url_name="gbp_sync_progress")
def sync_progress(request, integration_id: int = IntegrationId):
    """How the sync is doing (poll it every second or two while `syncing`), and what the last
    one did."""
    integration, _provider = _gbp(request, integration_id)
    return _sync_progress(integration)


@router.get("/integrations/{int:integration_id}/gbp/accounts",
            response={200: AccountPage, **errors(READ)}, summary="Business Profile accounts",
            url_name="gbp_accounts")
def accounts(request, integration_id: int = IntegrationId, page: int = PAGE,
             page_size: int = PAGE_SIZE):
    integration, _provider = _gbp(request, integration_id)
    rows, count = _page(GbpAccount.objects.filter(integration=integration).order_by(
        "account_name", "name", "pk"), page, page_size)
    return {"items": [{"id": a.pk, "name": a.name, "account_name": a.account_name,
                       "type": a.type, "role": a.role} for a in rows],
            "count": count, "page": page, "page_size": page_size}


@router.get("/integrations/{int:integration_id}/gbp/locations",
            response={200: LocationPage, **errors(READ)}, summary="Locations and their metrics",
            url_name="gbp_locations")
def locations(request, integration_id: int = IntegrationId, page: int = PAGE,
              page_size: int = PAGE_SIZE, start: date | None = None, end: date | None = None):
    """The locations, each with its daily metrics from `start` to `end` (both included, at most
    366 days; default: the 30 days up to the last day synced)."""
    integration, _provider = _gbp(request, integration_id)
    start, end = _range(integration, start, end)
    rows, count = _page(GbpLocation.objects.filter(integration=integration).order_by(
        "title", "name", "pk"), page, page_size)
    series = {loc.pk: {} for loc in rows}
    if start is not None:
        for location_id, metric, day, value in GbpDailyMetric.objects.filter(
                location_id__in=list(series), date__gte=start, date__lte=end).order_by(
                "location_id", "metric", "date").values_list("location_id", "metric", "date",
                                                             "value"):
            series[location_id].setdefault(metric, []).append({"date": day, "value": value})
    items = [{
        "id": loc.pk, "account": loc.account_id, "name": loc.name, "title": loc.title,
        "store_code": loc.store_code, "address": loc.address, "website": loc.website,
        "phone": loc.phone, "category": loc.category, "maps_uri": loc.maps_uri,
        "average_rating": float(loc.average_rating) if loc.average_rating is not None else None,
        "total_review_count": loc.total_review_count, "metrics": series[loc.pk],
    } for loc in rows]
    return {"items": items, "count": count, "page": page, "page_size": page_size,
            "start": start, "end": end}


def _range(integration, start, end):
    """The metrics' dates: as asked (checked), or the default range; (None, None) when nothing
    is stored and none was asked for."""
    if start is not None and end is not None:
        first, last = start, end
    else:
        last = end or (start + timedelta(days=DEFAULT_DAYS - 1) if start else GbpDailyMetric
                       .objects.filter(location__integration=integration)
                       .aggregate(m=Max("date"))["m"])
        if last is None:
            return None, None
        first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ApiError(422, "invalid_range", gettext("start must not be after end."))
    if (last - first).days >= MAX_DAYS:
        raise ApiError(422, "invalid_range", gettext(
            "Ask for at most {days} days at a time.").format(days=MAX_DAYS))
    return first, last


@router.get("/integrations/{int:integration_id}/gbp/reviews",
            response={200: ReviewPage, **errors(READ)}, summary="Reviews",
            url_name="gbp_reviews")
def reviews(request, integration_id: int = IntegrationId, page: int = PAGE,
            page_size: int = PAGE_SIZE,
            location: int | None = Query(None, ge=1, le=api_schemas.MAX_ID,
                                         description="Only this location's (its `id`)."),
            stars: int | None = Query(None, ge=1, le=5, description="Only this rating's."),
            unanswered: bool = Query(False, description="Only those without a reply.")):
    """The reviews, newest first, with their replies."""
    integration, _provider = _gbp(request, integration_id)
    rows = GbpReview.objects.filter(location__integration=integration)
    if location is not None:
        rows = rows.filter(location_id=location)
    if stars is not None:
        rows = rows.filter(star_rating=stars)
    if unanswered:
        rows = rows.filter(reply_comment="")
    rows, count = _page(rows.order_by("-create_time", "-pk"), page, page_size)
    return {"items": [_review(r) for r in rows], "count": count, "page": page,
            "page_size": page_size}


def _review(r) -> dict:
    return {
        "id": r.pk, "location": r.location_id, "reviewer_name": r.reviewer_name,
        "star_rating": r.star_rating, "comment": r.comment, "create_time": r.create_time,
        "update_time": r.update_time,
        "reply": {"comment": r.reply_comment, "update_time": r.reply_update_time}
        if r.reply_comment else None,
    }


# A reply Google refused, as the API answers it: (status, code). `invalid` is the caller's to
# fix; `gone` is the review at Google (the row stays until a full sync); `reauth` a reconnect.
REPLY_STATUS = {"invalid": (422, "invalid_reply"), "quota": (429, "google_quota"),
                "permission": (403, "google_permission"), "gone": (409, "review_gone"),
                "reauth": (409, "reauth_required"), "transient": (503, "google_unavailable"),
                "refused": (502, "google_refused")}
REPLY_ERRORS = {**errors(WRITE), 403: api_schemas.Error, 502: api_schemas.Error,
                503: api_schemas.Error}


def _reply(request, integration_id, review_id, write):
    integration, _provider = _gbp(request, integration_id, "reply")
    review = (GbpReview.objects.filter(pk=review_id, location__integration=integration)
              .select_related("location__account").first())
    if review is None:
        raise ApiError(404, "not_found", gettext("There is nothing here, or it is not yours."))
    try:
        return _review(write(integration, review))
    except replies.ReplyError as exc:
        status, code = REPLY_STATUS.get(exc.code, (502, "google_refused"))
        raise ApiError(status, code, exc.message, requires_reauth=exc.code == "reauth",
                       retry_after=exc.retry_after) from None


@router.put("/integrations/{int:integration_id}/gbp/reviews/{int:review_id}/reply",
            response={200: Review, **REPLY_ERRORS}, throttle=throttle("reply"),
            summary="Reply to a review (or edit the reply)", url_name="gbp_reply")
def reply(request, body: ReplyIn, integration_id: int = IntegrationId,
          review_id: int = Path(..., ge=1, le=api_schemas.MAX_ID)):
    """Written at Google (`updateReply`) and stored at once; the review with its reply. A refusal
    says why: 422 `invalid_reply`, 429 `google_quota` (with `retry_after`), 403
    `google_permission`, 409 `review_gone` or `reauth_required`, 503 `google_unavailable`."""
    return _reply(request, integration_id, review_id,
                  lambda integration, review: replies.save_reply(integration, review,
                                                                 body.comment))


@router.delete("/integrations/{int:integration_id}/gbp/reviews/{int:review_id}/reply",
               response={200: Review, **REPLY_ERRORS}, throttle=throttle("reply"),
               summary="Delete the reply to a review", url_name="gbp_delete_reply")
def delete_reply(request, integration_id: int = IntegrationId,
                 review_id: int = Path(..., ge=1, le=api_schemas.MAX_ID)):
    """Deleted at Google (`deleteReply`) and here; the review without its reply."""
    return _reply(request, integration_id, review_id, replies.delete_reply)
