"""GbpSyncService: Google Business Profile accounts, locations, daily metrics and reviews.

    result = GbpSyncService().sync(integration)

Before the sync the token is refreshed if it expires within 5 minutes; every API call goes
through the client (gbp.client), which retries the call once after a forced refresh on a 401.
Rows are upserted and compared first, so a second sync writes nothing. Rows that disappeared
are deleted only after a complete, successful listing.
"""

import logging
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations import tokens
from integrations.models import Integration, IntegrationEvent
from integrations.providers import registry

from .client import GbpApi, SyncError
from .conf import settings
from .models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
from .providers import is_gbp

log = logging.getLogger(__name__)

METRICS = [
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "BUSINESS_DIRECTION_REQUESTS",
]
READ_MASK = "name,title,storeCode,storefrontAddress,websiteUri,phoneNumbers,categories,metadata"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


@dataclass
class SyncResult:
    accounts: int = 0
    locations: int = 0
    metric_rows: int = 0
    reviews: int = 0
    deleted: int = 0
    start_date: date | None = None
    end_date: date | None = None
    ok: bool = True
    error_code: str = ""
    message: str = ""

    def as_dict(self):
        data = asdict(self)
        for key in ("start_date", "end_date"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


class GbpSyncService:
    def __init__(self):
        self.page_sizes = settings.GBP_PAGE_SIZES

    # --- entry point ------------------------------------------------------------------------
    def sync(self, integration: Integration) -> SyncResult:
        provider = registry.find(integration.provider)
        if not is_gbp(provider):
            raise ValueError(f"provider {integration.provider!r} is not Google Business Profile")
        started = time.monotonic()
        result = SyncResult()
        try:
            tokens.ensure_fresh(integration, buffer=timedelta(minutes=5))
            self._run(integration, provider, result)
        except tokens.ReauthRequired as exc:
            self._fail(result, "reauth_required",
                       f"Reconnect needed: {exc.message} The sync will resume once reconnected.")
        except tokens.RefreshFailed as exc:
            self._fail(result, exc.code, f"Could not renew access ({exc.code}); "
                                         "the next sync will try again.")
        except SyncError as exc:
            self._fail(result, exc.code, exc.message)
        self._finish(integration, result, time.monotonic() - started)
        return result

    # --- the work ---------------------------------------------------------------------------
    def _run(self, integration, provider, result):
        self.integration = integration
        self.api = api = GbpApi(integration, provider)

        accounts = api.list(lambda token: api.accounts.accounts().list(
            pageSize=self.page_sizes["accounts"], pageToken=token), "accounts")
        seen_accounts = []
        for item in accounts:
            account, changed = self._upsert_account(item)
            seen_accounts.append(account.pk)
            result.accounts += changed
        # The account listing was complete: accounts no longer there are gone.
        result.deleted += GbpAccount.objects.filter(integration=integration).exclude(
            pk__in=seen_accounts).delete()[0]

        end = timezone.now().date() - timedelta(days=1)
        for account in GbpAccount.objects.filter(integration=integration).order_by("pk"):
            items = api.list(lambda token, a=account: api.locations.accounts().locations().list(
                parent=a.name, readMask=READ_MASK, pageSize=self.page_sizes["locations"],
                pageToken=token), "locations")
            seen = []
            for item in items:
                location, changed = self._upsert_location(account, item)
                seen.append(location.pk)
                result.locations += changed
            result.deleted += GbpLocation.objects.filter(account=account).exclude(
                pk__in=seen).delete()[0]

            for location in GbpLocation.objects.filter(account=account).order_by("pk"):
                start = self._metrics_start(location, end)
                result.start_date = min(filter(None, [result.start_date, start]))
                result.end_date = end
                result.metric_rows += self._sync_metrics(location, start, end)
                written, deleted = self._sync_reviews(account, location)
                result.reviews += written
                result.deleted += deleted
        result.message = (f"Synced {GbpLocation.objects.filter(integration=integration).count()} "
                          f"location(s): {result.locations} updated, {result.metric_rows} metric "
                          f"value(s) and {result.reviews} review(s) written.")

    # --- upserts ------------------------------------------------------------------------------
    def _upsert_account(self, item):
        values = {"account_name": item.get("accountName", ""), "type": item.get("type", ""),
                  "role": item.get("role", "")}
        return _upsert(GbpAccount, {"integration": self.integration, "name": item["name"]}, values)

    def _upsert_location(self, account, item):
        address = item.get("storefrontAddress") or {}
        values = {
            "account": account,
            "title": item.get("title", "")[:255],
            "store_code": item.get("storeCode", "")[:100],
            "address": ", ".join([*address.get("addressLines", []), address.get("locality", ""),
                                  address.get("postalCode", "")]).strip(", ")[:500],
            "website": item.get("websiteUri", "")[:500],
            "phone": (item.get("phoneNumbers") or {}).get("primaryPhone", "")[:50],
            "category": ((item.get("categories") or {}).get("primaryCategory") or {}).get(
                "displayName", "")[:255],
            "maps_uri": (item.get("metadata") or {}).get("mapsUri", "")[:500],
        }
        return _upsert(GbpLocation, {"integration": self.integration, "name": item["name"]}, values)

    def _metrics_start(self, location, end):
        last = GbpDailyMetric.objects.filter(location=location).aggregate(m=Max("date"))["m"]
        if last is None:
            return end - timedelta(days=settings.GBP_BACKFILL_DAYS - 1)
        # Google revises recent days: fetch a few days before the last one we have.
        return min(end, last - timedelta(days=settings.GBP_REVISION_DAYS))

    def _sync_metrics(self, location, start, end) -> int:
        performance = self.api.performance
        body = self.api.call(lambda: performance.locations().fetchMultiDailyMetricsTimeSeries(
            location=location.name, dailyMetrics=METRICS,
            dailyRange_startDate_year=start.year, dailyRange_startDate_month=start.month,
            dailyRange_startDate_day=start.day, dailyRange_endDate_year=end.year,
            dailyRange_endDate_month=end.month, dailyRange_endDate_day=end.day))
        fetched = {}
        for group in body.get("multiDailyMetricTimeSeries", []):
            for series in group.get("dailyMetricTimeSeries", []):
                metric = series.get("dailyMetric")
                for dated in (series.get("timeSeries") or {}).get("datedValues", []):
                    d = dated.get("date") or {}
                    day = date(d["year"], d["month"], d["day"])
                    fetched[(metric, day)] = int(dated.get("value") or 0)  # omitted means 0
        existing = dict(
            ((m, d), v) for m, d, v in GbpDailyMetric.objects.filter(
                location=location, date__gte=start, date__lte=end).values_list("metric", "date", "value")
        )
        changed = [GbpDailyMetric(location=location, metric=m, date=d, value=v)
                   for (m, d), v in fetched.items() if existing.get((m, d)) != v]
        GbpDailyMetric.objects.bulk_create(
            changed, batch_size=500, update_conflicts=True,
            unique_fields=["location", "metric", "date"], update_fields=["value"])
        return len(changed)

    def _sync_reviews(self, account, location):
        path = f"v4/{account.name}/locations/{location.location_id}/reviews"

        def page(token):
            query = {"pageSize": self.page_sizes["reviews"], **({"pageToken": token} if token else {})}
            return f"{self.api.reviews_base}{path}?{urlencode(query)}"

        items, summary = self.api.pages(page, "reviews")
        written = 0
        seen = []
        for item in items:
            reply = item.get("reviewReply") or {}
            values = {
                "reviewer_name": ((item.get("reviewer") or {}).get("displayName") or "")[:255],
                "star_rating": STARS.get(item.get("starRating"), 0),
                "comment": item.get("comment", ""),
                "create_time": _time(item.get("createTime")),
                "update_time": _time(item.get("updateTime")),
                "reply_comment": reply.get("comment", ""),
                "reply_update_time": _time(reply.get("updateTime")),
            }
            review, changed = _upsert(GbpReview, {"location": location,
                                                  "review_id": item["reviewId"]}, values)
            seen.append(review.pk)
            written += changed
        deleted = GbpReview.objects.filter(location=location).exclude(pk__in=seen).delete()[0]
        rating = summary.get("averageRating")
        rating = Decimal(str(rating)).quantize(Decimal("0.1")) if rating is not None else None
        total = int(summary.get("totalReviewCount") or 0)
        if (location.average_rating, location.total_review_count) != (rating, total):
            GbpLocation.objects.filter(pk=location.pk).update(average_rating=rating,
                                                               total_review_count=total)
        return written, deleted

    # --- outcome ----------------------------------------------------------------------------
    @staticmethod
    def _fail(result, code, message):
        result.ok, result.error_code, result.message = False, code, message

    def _finish(self, integration, result, elapsed):
        now = timezone.now()
        status = Integration.SyncStatus.OK if result.ok else Integration.SyncStatus.ERROR
        with transaction.atomic():
            Integration.objects.filter(pk=integration.pk).update(
                last_sync_status=status, last_sync_message=result.message, last_synced_at=now)
            IntegrationEvent.objects.record(
                integration.pk, IntegrationEvent.Kind.SYNC,
                IntegrationEvent.Outcome.OK if result.ok else IntegrationEvent.Outcome.ERROR,
                error_code=result.error_code, message=result.message,
                duration_ms=int(elapsed * 1000))
        integration.last_sync_status, integration.last_synced_at = status, now
        integration.last_sync_message = result.message
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "integration %s: GBP sync %s %s", integration.pk,
                "ok" if result.ok else "failed", result.error_code)


def _time(value):
    return parse_datetime(value) if value else None


def _upsert(model, keys: dict, values: dict):
    """Create or update one row; returns (row, 1 if anything was written else 0)."""
    row = model.objects.filter(**keys).first()
    if row is None:
        return model.objects.create(**keys, **values), 1
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if changed:
        model.objects.filter(pk=row.pk).update(**changed)
        for k, v in changed.items():
            setattr(row, k, v)
    return row, int(bool(changed))
