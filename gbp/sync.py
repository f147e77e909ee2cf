"""GbpSyncService: Google Business Profile accounts, locations, daily metrics and reviews.

    result = GbpSyncService().sync(integration)

One sync per integration at a time (a lease on its GbpSyncState row). Before the sync the token
is refreshed if it expires within 5 minutes; every API call goes through the client
(gbp.client): its slot at the shared rate limiter, one forced refresh and retry on a 401.

Accounts and locations are listed first, in this thread. Then the locations' work runs on
GBP_SYNC_CONCURRENCY threads: per location one metrics call, per group of up to 50 locations of
an account one reviews reading (v4 batchGetReviews). The threads only fetch; this thread writes,
in bulk: a bounded number of statements per location whatever its review count, and rows are
compared first, so a second sync writes none.

Reviews are read newest first and the reading stops at the first review already stored unchanged
(older than the last complete sync); a full listing, the only reading that deletes reviews, runs
for a location at most every GBP_FULL_REVIEW_SYNC_DAYS. Rows that disappeared are deleted only
after a complete, clean listing. An item Google sent in the wrong shape fails that item, with a
message saying which and why. When Google's quota stays exhausted the sync pauses and resumes
later without redoing the locations it finished.
"""

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from integrations import proactive, tokens
from integrations.models import Integration, IntegrationEvent
from integrations.providers import registry

from . import fields, state as sync_state
from .client import V4, BadData, GbpApi, QuotaExhausted, SyncError
from .conf import page_size, settings
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
LOCATION_FIELDS = ["account_id", "title", "store_code", "address", "website", "phone", "category",
                   "maps_uri"]
REVIEW_FIELDS = ["reviewer_name", "star_rating", "comment", "create_time", "update_time",
                 "reply_comment", "reply_update_time"]
REVIEW_MARGIN = timedelta(days=1)  # Google may show a review a while after its updateTime
FLUSH_LOCATIONS = 25  # metrics are written for this many locations at a time
PROGRESS_SECONDS = 2.0
MAX_PROBLEMS_SHOWN = 3


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
    skipped: bool = False  # another sync of the integration was under way: nothing done
    deferred: bool = False  # paused (quota, time budget): resumes in `resume_in` seconds
    resume_in: float = 0.0
    locations_total: int = 0
    locations_done: int = 0
    calls: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def as_dict(self):
        data = asdict(self)
        for key in ("start_date", "end_date"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


class GbpSyncService:
    def __init__(self, concurrency: int | None = None):
        self.concurrency = concurrency or settings.GBP_SYNC_CONCURRENCY

    def sync(self, integration: Integration, *, budget_seconds: float | None = None) -> SyncResult:
        """Sync one integration. With `budget_seconds`, stop starting new work after that long
        and pause (result.deferred, resume_in 0) for the caller to resume in a new task."""
        provider = registry.find(integration.provider)
        if not is_gbp(provider):
            raise ValueError(f"provider {integration.provider!r} is not Google Business Profile")
        owner = uuid.uuid4().hex
        state = sync_state.acquire(integration.pk, owner)
        if state is None:
            log.info("integration %s: GBP sync already under way; not starting another",
                     integration.pk)
            return SyncResult(ok=False, skipped=True, error_code="already_running",
                              message="Another sync of this integration is under way.")
        try:
            return self._sync(integration, provider, state, owner, budget_seconds)
        finally:
            sync_state.release(integration.pk, owner)  # a no-op after finish() or pause()

    def _sync(self, integration, provider, state, owner, budget_seconds) -> SyncResult:
        started = time.monotonic()
        run = _Run(integration, provider, state, owner, self.concurrency, budget_seconds)
        result = run.result
        try:
            tokens.ensure_fresh(integration, buffer=timedelta(minutes=5))
            run.execute()
        except tokens.ReauthRequired as exc:
            _fail(result, "reauth_required",
                  f"Reconnect needed: {exc.message} The sync will resume once reconnected.")
        except tokens.RefreshFailed as exc:
            _fail(result, exc.code, f"Could not renew access ({exc.code}); "
                                    "the next sync will try again.")
        except QuotaExhausted as exc:  # while listing: the same pause as during the work
            run.pause(exc.resume_in, exc.message, "rate_limited")
            return result
        except _Paused as exc:
            run.pause(exc.resume_in, exc.reason, exc.code)
            return result
        except SyncError as exc:
            _fail(result, exc.code, exc.message)
        except Exception as exc:  # a bug or an outage below us: this sync fails, not the page
            log.exception("integration %s: GBP sync stopped by an unexpected error",
                          integration.pk)
            _fail(result, "unexpected", f"The sync stopped on an unexpected error "
                                        f"({type(exc).__name__}); it has been logged.")
        result.calls = dict(run.api.calls) if run.api else {}
        _finish(integration, result, time.monotonic() - started)
        sync_state.finish(integration.pk, owner, ok=result.ok, error_code=result.error_code,
                          started_at=state.started_at)
        return result


class _Paused(Exception):
    def __init__(self, resume_in, reason, code):
        self.resume_in, self.reason, self.code = resume_in, reason, code


@dataclass
class _Metrics:
    location: GbpLocation
    start: date
    end: date
    rows: dict


@dataclass
class _Reviews:
    locations: list
    full: bool
    items: dict  # (location pk, review id) -> values, newest first
    clean: bool


@dataclass
class _Problem:
    locations: list
    message: str


@dataclass
class _Stop:
    error: Exception


class _Run:
    """One sync of one integration: the fetching (any thread) and the writing (this thread)."""

    def __init__(self, integration, provider, state, owner, concurrency, budget_seconds):
        self.integration, self.provider, self.state, self.owner = (integration, provider, state,
                                                                   owner)
        self.concurrency = max(1, concurrency)
        self.deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        self.result = SyncResult()
        self.api = None
        self.now = timezone.now()
        self.end = self.now.date() - timedelta(days=1)
        self.prior_done = set(state.done_locations or [])
        self.metrics_done, self.reviews_done, self.failed = set(), set(), set()
        self.metrics_buffer = []
        self.stop = None
        self.out_of_time = False
        self.bad_data = False  # some item failed because of what Google sent
        self.locations = {}
        self.total = 0
        self.last_progress = 0.0
        self.lock = threading.Lock()
        complete = state.last_complete_started_at
        self.watermark = complete - REVIEW_MARGIN if complete else None

    # --- the run ----------------------------------------------------------------------------
    def execute(self):
        self.api = GbpApi(self.integration, self.provider)
        accounts = self.sync_accounts()
        self.sync_locations(accounts)
        locations = list(GbpLocation.objects.filter(integration=self.integration)
                         .select_related("account").order_by("pk"))
        self.locations = {loc.pk: loc for loc in locations}
        self.total = len(locations)
        self.prior_done &= set(self.locations)
        self.result.locations_total = self.total
        self.report_progress(force=True)
        units = self.units(locations)
        if self.concurrency > 1:
            proactive.in_threads(units, self.concurrency, self.work, self.take)
        else:
            for unit in units:
                self.take(self.work(unit))
        self.flush_metrics()
        self.report_progress(force=True)
        if isinstance(self.stop, QuotaExhausted):
            raise _Paused(self.stop.resume_in, self.stop.message, "rate_limited")
        if self.stop is not None:
            raise self.stop.error
        if self.out_of_time:
            raise _Paused(0, "the sync's time budget ran out; it continues in a new task.",
                          "time_budget")
        self.summarise()

    def stopping(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.out_of_time = True
        return self.stop is not None or self.out_of_time

    def units(self, locations):
        """The work, lazily: per group of an account's locations, its reviews reading and then
        each location's metrics (so both APIs are busy at once)."""
        first_starts = self.metrics_starts()
        by_account = {}
        for loc in locations:
            if loc.pk not in self.prior_done:
                by_account.setdefault(loc.account_id, []).append(loc)
        group_size = page_size("review_locations")
        for locs in by_account.values():
            full = [loc for loc in locs if self.needs_full_reviews(loc)]
            later = [loc for loc in locs if not self.needs_full_reviews(loc)]
            for kind, pending in ((True, full), (False, later)):
                for i in range(0, len(pending), group_size):
                    group = pending[i:i + group_size]
                    if self.stopping():
                        return
                    yield ("reviews", group, kind)
                    for loc in group:
                        if self.stopping():
                            return
                        yield ("metrics", loc, first_starts.get(loc.pk))

    def needs_full_reviews(self, loc) -> bool:
        if self.watermark is None or loc.reviews_full_synced_at is None:
            return True
        every = timedelta(days=settings.GBP_FULL_REVIEW_SYNC_DAYS)
        return loc.reviews_full_synced_at <= self.now - every

    def metrics_starts(self) -> dict:
        """Per location, the first day to fetch (one grouped query for the integration)."""
        last = dict(GbpDailyMetric.objects.filter(location__integration=self.integration)
                    .values("location_id").annotate(m=Max("date")).values_list("location_id", "m"))
        backfill = self.end - timedelta(days=settings.GBP_BACKFILL_DAYS - 1)
        revision = timedelta(days=settings.GBP_REVISION_DAYS)
        return {pk: min(self.end, last[pk] - revision) if pk in last else backfill
                for pk in self.locations}

    # --- fetching (on the pool's threads) ------------------------------------------------------
    def work(self, unit):
        try:
            if unit[0] == "metrics":
                return self.fetch_metrics(unit[1], unit[2])
            return self.fetch_reviews(unit[1], unit[2])
        except QuotaExhausted as exc:
            return exc
        except SyncError as exc:
            # Wrong data, or a location gone since the listing (404): that item fails, the rest
            # goes on. Anything else (403, an outage, a revoked grant) stops the run.
            if not isinstance(exc, BadData) and exc.code != "http_404":
                return _Stop(exc)
            self.bad_data = self.bad_data or isinstance(exc, BadData)
            locations = [unit[1]] if unit[0] == "metrics" else unit[1]
            what = (f"location {unit[1].name}: metrics" if unit[0] == "metrics"
                    else f"reviews of {len(unit[1])} location(s)")
            return _Problem(locations, f"{what}: {exc.message}")
        except Exception as exc:  # SyncError, token errors, anything else: the run stops
            return _Stop(exc)

    def fetch_metrics(self, loc, start) -> _Metrics:
        start = start or self.end
        performance = self.api.performance
        body = self.api.call("performance", lambda: performance.locations()
                             .fetchMultiDailyMetricsTimeSeries(
            location=loc.name, dailyMetrics=METRICS,
            dailyRange_startDate_year=start.year, dailyRange_startDate_month=start.month,
            dailyRange_startDate_day=start.day, dailyRange_endDate_year=self.end.year,
            dailyRange_endDate_month=self.end.month, dailyRange_endDate_day=self.end.day))
        return _Metrics(loc, start, self.end, parse_metrics(body, start, self.end))

    def fetch_reviews(self, locs, full) -> _Reviews:
        """One account's group of locations, newest first; incremental readings stop at the
        first review stored unchanged that is older than the last complete sync."""
        account = locs[0].account
        by_name = {f"{account.name}/locations/{loc.location_id}": loc for loc in locs}
        stored = {} if full else {
            (loc_pk, rid): updated for loc_pk, rid, updated in GbpReview.objects.filter(
                location__in=locs).values_list("location_id", "review_id", "update_time")}
        url = f"{self.api.reviews_base}v4/{account.name}/locations:batchGetReviews"
        items, clean, page_token = {}, True, None
        while True:
            body = {"locationNames": list(by_name), "pageSize": page_size("reviews"),
                    "orderBy": "updateTime desc", "ignoreRatingOnlyReviews": False}
            if page_token:
                body["pageToken"] = page_token
            page = fields.mapping(self.api.call("reviews", lambda: V4("POST", url, body)),
                                  "Google's reviews answer")
            for entry in fields.items(page.get("locationReviews"), "the reviews"):
                try:
                    entry = fields.mapping(entry, "a review")
                    loc = by_name.get(entry.get("name"))
                    if loc is None:
                        raise BadData("a review of a location that was not asked for")
                    review_id, values = parse_review(entry.get("review"))
                except BadData as exc:
                    self.note_problem(f"a review: {exc.message}")
                    self.bad_data, clean = True, False
                    continue
                key = (loc.pk, review_id)
                updated = values["update_time"]
                if (not full and updated is not None and key in stored
                        and stored[key] == updated and updated < self.watermark):
                    return _Reviews(locs, full, items, clean)
                items.setdefault(key, values)
            page_token = page.get("nextPageToken")
            if not page_token:
                return _Reviews(locs, full, items, clean)
            if not isinstance(page_token, str):
                raise BadData("Google's reviews answer had a malformed page token")

    # --- writing (this thread) ---------------------------------------------------------------
    def take(self, outcome):
        if isinstance(outcome, _Metrics):
            self.metrics_buffer.append(outcome)
            if len(self.metrics_buffer) >= FLUSH_LOCATIONS:
                self.flush_metrics()
        elif isinstance(outcome, _Reviews):
            self.write_reviews(outcome)
        elif isinstance(outcome, _Problem):
            self.note_problem(outcome.message)
            self.failed.update(loc.pk for loc in outcome.locations)
        elif self.stop is None:  # _Stop or QuotaExhausted: the first one wins
            self.stop = outcome
        self.report_progress()

    def note_problem(self, message):
        with self.lock:
            self.result.problems.append(message)

    def flush_metrics(self):
        batch, self.metrics_buffer = self.metrics_buffer, []
        if not batch:
            return
        ids = [m.location.pk for m in batch]
        start = min(m.start for m in batch)
        existing = {(loc, metric, day): value for loc, metric, day, value in
                    GbpDailyMetric.objects.filter(location_id__in=ids, date__gte=start,
                                                  date__lte=self.end)
                    .values_list("location_id", "metric", "date", "value")}
        changed = [GbpDailyMetric(location_id=m.location.pk, metric=metric, date=day, value=value)
                   for m in batch for (metric, day), value in m.rows.items()
                   if existing.get((m.location.pk, metric, day)) != value]
        if changed:
            GbpDailyMetric.objects.bulk_create(
                changed, batch_size=1000, update_conflicts=True,
                unique_fields=["location", "metric", "date"], update_fields=["value"])
        self.result.metric_rows += len(changed)
        for m in batch:
            self.result.start_date = min(filter(None, [self.result.start_date, m.start]))
        self.result.end_date = self.end
        self.metrics_done.update(ids)

    def write_reviews(self, fetched: _Reviews):
        ids = [loc.pk for loc in fetched.locations]
        rows = GbpReview.objects.filter(location_id__in=ids)
        if not fetched.full:  # only the reviews read; a full listing also needs the rest
            rows = rows.filter(review_id__in={rid for _, rid in fetched.items})
        existing = {(row[1], row[2]): (row[0], row[3:]) for row in rows.values_list(
            "pk", "location_id", "review_id", *REVIEW_FIELDS)}
        changed = [GbpReview(location_id=loc_pk, review_id=rid, **values)
                   for (loc_pk, rid), values in fetched.items.items()
                   if existing.get((loc_pk, rid), (None, None))[1]
                   != tuple(values[f] for f in REVIEW_FIELDS)]
        with transaction.atomic():
            if changed:
                GbpReview.objects.bulk_create(
                    changed, batch_size=500, update_conflicts=True,
                    unique_fields=["location", "review_id"], update_fields=REVIEW_FIELDS)
            self.result.reviews += len(changed)
            if fetched.full and fetched.clean:  # a complete listing: what is gone, is gone
                stale = [pk for key, (pk, _) in existing.items() if key not in fetched.items]
                for i in range(0, len(stale), 500):
                    self.result.deleted += GbpReview.objects.filter(
                        pk__in=stale[i:i + 500]).delete()[0]
                GbpLocation.objects.filter(pk__in=ids).update(reviews_full_synced_at=self.now)
            if changed or (fetched.full and fetched.clean):
                self.update_ratings(fetched.locations)
        self.reviews_done.update(ids)

    def update_ratings(self, locs):
        """Average rating and review count per location, from the stored reviews."""
        stats = {row["location_id"]: row for row in GbpReview.objects.filter(
            location__in=locs).values("location_id").annotate(
            n=Count("pk"), rated=Count("pk", filter=Q(star_rating__gt=0)),
            stars=Sum("star_rating"))}
        changed = []
        for loc in locs:
            row = stats.get(loc.pk, {"n": 0, "rated": 0, "stars": 0})
            value = (fields.rating(row["stars"] or 0, row["rated"]), row["n"])
            if (loc.average_rating, loc.total_review_count) != value:
                loc.average_rating, loc.total_review_count = value
                changed.append(loc)
        if changed:
            GbpLocation.objects.bulk_update(changed, ["average_rating", "total_review_count"])

    def report_progress(self, force=False):
        """Locations finished of the total, on the state row (and the lease renewed)."""
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_SECONDS:
            return
        self.last_progress = now
        self.result.locations_done = len(self.done()) + len(self.failed - self.done())
        sync_state.progress(self.integration.pk, self.owner, self.result.locations_done,
                            self.total)

    def done(self) -> set:
        return self.prior_done | (self.metrics_done & self.reviews_done)

    def pause(self, resume_in, reason, code):
        result = self.result
        result.ok, result.deferred, result.resume_in = False, True, resume_in
        result.error_code = code
        done = self.done()
        result.locations_done = len(done)
        result.message = (f"Paused after {len(done)} of {self.total} location(s): {reason}")
        result.calls = dict(self.api.calls) if self.api else {}
        sync_state.pause(self.integration.pk, self.owner, resume_in=resume_in,
                         done_locations=done, done=len(done), total=self.total)
        log.info("integration %s: GBP sync paused after %s of %s locations (%s); resumes in "
                 "%.0fs", self.integration.pk, len(done), self.total, result.error_code,
                 resume_in)

    def summarise(self):
        result = self.result
        calls = sum(self.api.calls.values())
        done = len(self.done())
        if result.problems:
            shown = "; ".join(result.problems[:MAX_PROBLEMS_SHOWN])
            more = len(result.problems) - MAX_PROBLEMS_SHOWN
            _fail(result, "bad_data" if self.bad_data else "partial",
                  f"Synced {done} of {self.total} location(s); {len(result.problems)} item(s) "
                  f"failed: {shown}" + (f" (and {more} more)" if more > 0 else "") + ".")
            return
        result.message = (f"Synced {self.total} location(s): {result.locations} updated, "
                          f"{result.metric_rows} metric value(s) and {result.reviews} review(s) "
                          f"written, {result.deleted} removed; {calls} API call(s).")

    # --- accounts and locations (this thread) ----------------------------------------------------
    def sync_accounts(self):
        api = self.api
        items = api.list("accounts", lambda token: api.accounts.accounts().list(
            pageSize=page_size("accounts"), pageToken=token), "accounts")
        parsed, clean = {}, True
        for item in items:
            try:
                name, values = parse_account(item)
            except BadData as exc:
                self.note_problem(f"an account: {exc.message}")
                self.bad_data, clean = True, False
                continue
            parsed.setdefault(name, values)
        written, deleted = upsert(GbpAccount, {"integration": self.integration}, parsed,
                                  ["account_name", "type", "role"], delete_missing=clean)
        self.result.accounts += written
        self.result.deleted += deleted
        return list(GbpAccount.objects.filter(integration=self.integration, name__in=parsed)
                    .order_by("pk"))

    def sync_locations(self, accounts):
        """Every account's listing first (a failed page raises before anything is written),
        then one bulk upsert; locations no longer listed go only after a clean listing."""
        api = self.api
        parsed, clean_accounts = {}, []
        for account in accounts:
            items = api.list("locations", lambda token, a=account: api.locations.accounts()
                             .locations().list(parent=a.name, readMask=READ_MASK,
                                               pageSize=page_size("locations"),
                                               pageToken=token), "locations")
            clean = True
            for item in items:
                try:
                    name, values = parse_location(item)
                except BadData as exc:
                    self.note_problem(f"a location of {account.name}: {exc.message}")
                    self.bad_data, clean = True, False
                    continue
                parsed.setdefault(name, {**values, "account_id": account.pk})
            if clean:
                clean_accounts.append(account)
        written, _ = upsert(GbpLocation, {"integration": self.integration}, parsed,
                            LOCATION_FIELDS, delete_missing=False)
        self.result.locations += written
        self.result.deleted += GbpLocation.objects.filter(
            integration=self.integration, account__in=clean_accounts).exclude(
            name__in=list(parsed)).delete()[0]


# --- what Google sends, checked (gbp.fields) ------------------------------------------------------
def parse_account(item):
    item = fields.mapping(item, "an account")
    name = fields.name(item.get("name"), "accounts/", 100, "an account")
    what = f"account {name}"
    return name, {"account_name": fields.text(item.get("accountName"), 255, f"{what}: name"),
                  "type": fields.text(item.get("type"), 30, f"{what}: type"),
                  "role": fields.text(item.get("role"), 30, f"{what}: role")}


def parse_location(item):
    item = fields.mapping(item, "a location")
    name = fields.name(item.get("name"), "locations/", 100, "a location")
    what = f"location {name}"
    address = fields.mapping(item.get("storefrontAddress"), f"{what}: address")
    lines = fields.text_list(address.get("addressLines"), f"{what}: address")
    parts = [*lines, fields.text(address.get("locality"), 0, f"{what}: locality"),
             fields.text(address.get("postalCode"), 0, f"{what}: postal code")]
    phones = fields.mapping(item.get("phoneNumbers"), f"{what}: phone numbers")
    categories = fields.mapping(item.get("categories"), f"{what}: categories")
    primary = fields.mapping(categories.get("primaryCategory"), f"{what}: category")
    metadata = fields.mapping(item.get("metadata"), f"{what}: metadata")
    return name, {
        "title": fields.text(item.get("title"), 255, f"{what}: title"),
        "store_code": fields.text(item.get("storeCode"), 100, f"{what}: store code"),
        "address": ", ".join(p for p in parts if p)[:500],
        "website": fields.url(item.get("websiteUri"), 500, f"{what}: website"),
        "phone": fields.text(phones.get("primaryPhone"), 50, f"{what}: phone"),
        "category": fields.text(primary.get("displayName"), 255, f"{what}: category"),
        "maps_uri": fields.url(metadata.get("mapsUri"), 500, f"{what}: maps link"),
    }


def parse_metrics(body, start, end) -> dict:
    """{(metric, day): value} from fetchMultiDailyMetricsTimeSeries; an omitted value is 0."""
    body = fields.mapping(body, "the answer")
    rows = {}
    for group in fields.items(body.get("multiDailyMetricTimeSeries"), "the series"):
        group = fields.mapping(group, "a series group")
        for series in fields.items(group.get("dailyMetricTimeSeries"), "the series"):
            series = fields.mapping(series, "a series")
            metric = series.get("dailyMetric")
            if metric not in METRICS:
                continue  # not one we asked for
            values = fields.mapping(series.get("timeSeries"), f"{metric}").get("datedValues")
            for dated in fields.items(values, f"{metric} values"):
                dated = fields.mapping(dated, f"a {metric} value")
                day = fields.day(dated.get("date"), f"a {metric} date")
                if start <= day <= end:
                    rows[(metric, day)] = fields.count(dated.get("value"), f"{metric} on {day}")
    return rows


def parse_review(item):
    item = fields.mapping(item, "a review")
    review_id = fields.identifier(item.get("reviewId"), 255, "a review")
    what = f"review {review_id}"
    reviewer = fields.mapping(item.get("reviewer"), f"{what}: reviewer")
    reply = fields.mapping(item.get("reviewReply"), f"{what}: reply")
    return review_id, {
        "reviewer_name": fields.text(reviewer.get("displayName"), 255, f"{what}: reviewer"),
        "star_rating": fields.stars(item.get("starRating")),
        "comment": fields.text(item.get("comment"), 20_000, f"{what}: comment"),
        "create_time": fields.timestamp(item.get("createTime"), f"{what}: createTime"),
        "update_time": fields.timestamp(item.get("updateTime"), f"{what}: updateTime"),
        "reply_comment": fields.text(reply.get("comment"), 20_000, f"{what}: reply"),
        "reply_update_time": fields.timestamp(reply.get("updateTime"), f"{what}: reply time"),
    }


# --- writes ---------------------------------------------------------------------------------------
def upsert(model, scope: dict, parsed: dict, names: list, *, delete_missing: bool):
    """Bulk create-or-update rows of `scope` keyed by `name`: one SELECT, then only what
    changed. Returns (rows written, rows deleted)."""
    existing = {row.name: row for row in model.objects.filter(**scope)}
    new, changed = [], []
    for key, values in parsed.items():
        row = existing.get(key)
        if row is None:
            new.append(model(**scope, name=key, **values))
        elif any(getattr(row, f) != values[f] for f in names):
            for f in names:
                setattr(row, f, values[f])
            changed.append(row)
    with transaction.atomic():
        model.objects.bulk_create(new, batch_size=500)
        if changed:
            model.objects.bulk_update(changed, names, batch_size=500)
        deleted = 0
        if delete_missing:
            gone = [row.pk for key, row in existing.items() if key not in parsed]
            if gone:
                deleted = model.objects.filter(pk__in=gone).delete()[0]
    return len(new) + len(changed), deleted


# --- outcome --------------------------------------------------------------------------------------
def _fail(result, code, message):
    result.ok, result.error_code, result.message = False, code, message


def _finish(integration, result, elapsed):
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
    calls = sum(result.calls.values())
    if result.ok:
        log.info("integration %s: GBP sync ok (%s locations, %s API calls)", integration.pk,
                 result.locations_total, calls)
    else:  # the operator's words too: which API to enable, what Google said
        log.warning("integration %s: GBP sync failed %s (%s of %s locations, %s API calls): %s",
                    integration.pk, result.error_code, result.locations_done,
                    result.locations_total, calls, result.message)
