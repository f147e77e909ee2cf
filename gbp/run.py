"""One run of a GBP sync: the fetching (on the pool's threads) and the writing (one thread).

gbp.sync.GbpSyncService starts a run under the sync's lease and records its outcome; see there
for what a sync does and in which order.
"""

import logging
import queue
import threading
import time
from collections import deque
from datetime import timedelta
from itertools import chain

from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from integrations import proactive

from . import fields, rollup, state as sync_state
from .bulk import upsert_rows
from .client import V4, BadData, GbpApi, QuotaExhausted, SyncError
from .conf import page_size, settings
from .models import GbpAccount, GbpDailyMetric, GbpLocation, GbpReview
from .models import upsert_named
from .parse import METRICS, READ_MASK, parse_account, parse_location, parse_metrics, parse_review
from .result import (Paused, SyncResult, _Listing, _Metrics, _Problem, _Reviews, _Stop,
                     english_text, fail)

log = logging.getLogger("gbp.sync")

LOCATION_FIELDS = ["account_id", "title", "store_code", "address", "website", "phone", "category",
                   "maps_uri"]
REVIEW_FIELDS = ["reviewer_name", "star_rating", "comment", "create_time", "update_time",
                 "reply_comment", "reply_update_time"]
REVIEW_MARGIN = timedelta(days=1)  # Google may show a review a while after its updateTime
FLUSH_LOCATIONS = 25  # metrics are written for this many locations at a time
REVIEWS_AHEAD = 4  # groups whose reviews are read before the metrics of the first group
PROGRESS_SECONDS = 2.0
MAX_PROBLEMS_SHOWN = 3


class Run:
    """One sync of one integration: the fetching (any thread) and the writing (this thread)."""

    def __init__(self, integration, provider, state, owner, concurrency, budget_seconds):
        self.integration, self.provider, self.state, self.owner = (integration, provider, state,
                                                                   owner)
        self.concurrency = max(1, concurrency)
        self.deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        self.result = SyncResult()
        self.api = None
        self.metrics_api = None
        self.now = timezone.now()
        self.end = self.now.date() - timedelta(days=1)
        self.prior_done = set(state.done_locations or [])
        self.metrics_done, self.reviews_done, self.failed = set(), set(), set()
        self.metrics_buffer = []
        self.stop = None
        self.out_of_time = False
        self.bad_data = False  # some item failed because of what Google sent
        self.locations = {}
        self.gone, self.added = set(), set()  # stored locations the listing removed, added
        self.listed = False  # the listing is written
        self.handed_out = False  # every unit of work is on the pool
        self.deferred = []  # 404s (_Problem) waiting for the listing
        self.total = 0
        self.last_progress = 0.0
        self.lock = threading.Lock()
        complete = state.last_complete_started_at
        self.watermark = complete - REVIEW_MARGIN if complete else None

    # --- the run ----------------------------------------------------------------------------
    def execute(self):
        self.api = GbpApi(self.integration, self.provider)
        # Built once: googleapiclient builds a resource's methods anew on every `locations()`
        # (milliseconds of CPU a call, under the GIL the pool's threads share).
        self.metrics_api = self.api.performance.locations()
        known = self.stored_locations()
        if known:
            # A resync: the accounts and locations are listed on the pool alongside the work
            # on the locations already stored, instead of two round trips before any work;
            # what the listing removes is dropped from the work, what it adds is done after.
            self.begin(known)
            self.run_units(chain([("listing", None, None)], self.units(known)))
            if self.added and not self.stopping():
                added = self.stored_locations(self.added)
                self.begin(added)
                self.run_units(self.units(added))
        else:
            # A first sync: nothing is stored that a listing could remove, so each page of
            # locations is stored as it arrives and its work starts at once (listing 1,000
            # locations first was 11 round trips with one request in flight).
            self.run_units(self.listed_units())
        deferred, self.deferred, self.listed = self.deferred, [], True
        for problem in deferred:  # 404s the listing (which did not finish) did not explain
            self.take(problem)
        self.flush_metrics()
        self.report_progress(force=True)
        if isinstance(self.stop, QuotaExhausted):
            raise Paused(self.stop.resume_in, self.stop.message, "rate_limited")
        if self.stop is not None:
            raise self.stop.error
        if self.out_of_time:
            raise Paused(0, "the sync's time budget ran out; it continues in a new task.",
                          "time_budget")
        self.summarise()

    def stored_locations(self, pks=None) -> list:
        rows = GbpLocation.objects.filter(integration=self.integration)
        if pks is not None:
            rows = rows.filter(pk__in=list(pks))
        return list(rows.select_related("account").order_by("pk"))

    def begin(self, locations):
        """Work on these locations (too)."""
        self.handed_out = False
        self.locations.update({loc.pk: loc for loc in locations})
        self.total = len(self.locations)
        self.prior_done &= set(self.locations)
        self.result.locations_total = self.total
        self.report_progress(force=True)

    def run_units(self, units):
        if self.concurrency > 1:
            proactive.in_threads(units, self.concurrency, self.work, self.take, self.settled)
        else:
            for unit in units:
                self.take(self.work(unit))
                self.settled()

    def settled(self):
        """At the end (everything handed out), what came back is written as it comes, all of
        it at once: no backlog left to write after the fetching, and no write per location
        while results queue up behind it."""
        if self.handed_out:
            self.flush_metrics()

    def stopping(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.out_of_time = True
        return self.stop is not None or self.out_of_time

    def units(self, locations, *, last=True):
        """The work, lazily: per group of an account's locations, its reviews reading and then
        each location's metrics (so both APIs are busy at once). A group's reviews are read
        REVIEWS_AHEAD groups before its metrics: a full reading of 50 locations is a chain of
        pages (20 at 20 reviews each), and started last it would end the run on one thread.
        Once everything is handed out (the `last` locations), each result is written as it
        comes (`handed_out`)."""
        for unit in self._units(locations):
            if self.stopping():
                return
            if unit[0] == "reviews":
                unit = ("reviews", [loc for loc in unit[1] if loc.pk not in self.gone], unit[2])
                if not unit[1]:
                    continue
            elif unit[1].pk in self.gone:  # (a listing written meanwhile removed it)
                continue
            yield unit
        self.handed_out = last

    def listed_units(self):
        """A first sync's work: the accounts and their locations are listed on a thread of
        their own (the listing is a chain of pages, one request at a time); each page that has
        arrived is stored here and its work handed out, so the work starts after the first
        page and the count of locations is whole after the last. A listing that fails stops
        the run after the work already handed out."""
        pages = queue.Queue()
        threading.Thread(target=self._list_pages, args=(pages,), daemon=True,
                         name="gbp-listing").start()
        work, listing, accounts = deque(), True, {}
        while True:
            while listing:  # every page that has arrived; wait for one only with no work left
                try:
                    kind, *page = pages.get_nowait() if work else pages.get()
                except queue.Empty:
                    break
                if kind == "accounts":
                    accounts = self.store_accounts(*page)
                elif kind == "locations":
                    work.append(self.units(self._store_page(accounts, *page), last=False))
                else:  # "end", or "stop" with why
                    listing = False
                    if kind == "stop":
                        self.take(page[0])
                    else:
                        self.listed = True
            unit = next(work[0], None) if work else None
            if unit is not None:
                yield unit
            elif work:
                work.popleft()
            elif not listing:
                break
        self.handed_out = True

    def _list_pages(self, pages):
        """(On the listing's thread: fetching and parsing only.) ("accounts", parsed, clean),
        then ("locations", account name, parsed) per page, then ("end",), or ("stop", why)."""
        try:
            accounts, clean = self.list_accounts()
            pages.put(("accounts", accounts, clean))
            for name in accounts:
                for page in self.location_pages(name):
                    parsed, _ = self.parsed(page, parse_location, f"a location of {name}")
                    pages.put(("locations", name, parsed))
        except QuotaExhausted as exc:
            pages.put(("stop", exc))
        except BaseException as exc:  # any failure of the listing stops the run (as in `work`)
            pages.put(("stop", _Stop(exc)))
            if not isinstance(exc, Exception):
                raise
        else:
            pages.put(("end",))
        finally:
            connection.close()  # (the token holder may have read the credential here)

    def list_accounts(self):
        """The accounts, parsed, and whether all of them parsed (any thread)."""
        api = self.api
        items = api.list("accounts", lambda token: api.accounts.accounts().list(
            pageSize=page_size("accounts"), pageToken=token), "accounts")
        return self.parsed(items, parse_account, "an account")

    def location_pages(self, account):
        """The items of each page of an account's locations, as each arrives (any thread)."""
        api = self.api
        return api.pages("locations", lambda token: api.locations.accounts().locations().list(
            parent=account, readMask=READ_MASK, pageSize=page_size("locations"),
            pageToken=token), "locations")

    def store_accounts(self, accounts, clean) -> dict:
        """{name: row} of the listed accounts; those no longer listed go after a clean listing."""
        written, deleted, stored = upsert_named(
            GbpAccount, {"integration": self.integration}, accounts,
            ["account_name", "type", "role"], delete_missing=clean)
        self.result.accounts += written
        self.result.deleted += deleted
        return stored

    def store_locations(self, parsed) -> dict:
        """{name: row} of these locations ({name: values with account_id}), none deleted."""
        written, _, rows = upsert_named(GbpLocation, {"integration": self.integration}, parsed,
                                        LOCATION_FIELDS, delete_missing=False)
        self.result.locations += written
        return rows

    def _store_page(self, accounts, name, parsed) -> list:
        """One page of an account's locations, stored and added to the work."""
        rows = self.store_locations({loc: {**values, "account_id": accounts[name].pk}
                                     for loc, values in parsed.items()})
        locations = self.stored_locations([row.pk for row in rows.values()])
        self.begin(locations)
        return locations

    def _units(self, locations):
        first_starts = self.metrics_starts()
        by_account = {}
        for loc in locations:
            if loc.pk not in self.prior_done:
                by_account.setdefault(loc.account_id, []).append(loc)
        group_size = page_size("review_locations")
        groups = []
        for locs in by_account.values():
            full = [loc for loc in locs if self.needs_full_reviews(loc)]
            later = [loc for loc in locs if not self.needs_full_reviews(loc)]
            for kind, pending in ((True, full), (False, later)):
                groups += [(pending[i:i + group_size], kind)
                           for i in range(0, len(pending), group_size)]
        for i, (group, kind) in enumerate(groups):
            if i == 0:
                for ahead, ahead_kind in groups[:REVIEWS_AHEAD + 1]:
                    yield ("reviews", ahead, ahead_kind)
            elif i + REVIEWS_AHEAD < len(groups):
                yield ("reviews", *groups[i + REVIEWS_AHEAD])
            for loc in group:
                yield ("metrics", loc, first_starts.get(loc.pk))

    def needs_full_reviews(self, loc) -> bool:
        if self.watermark is None or loc.reviews_full_synced_at is None:
            return True
        every = timedelta(days=settings.GBP_FULL_REVIEW_SYNC_DAYS)
        return loc.reviews_full_synced_at <= self.now - every

    def metrics_starts(self) -> dict:
        """Per location, the first day to fetch (one query for the integration)."""
        # The newest date of each location: one probe of the (location, date) index per
        # location, not a grouped scan of every value stored (22 ms at 100 locations on
        # PostgreSQL, before the first metrics call could start).
        newest = GbpDailyMetric.objects.filter(location=OuterRef("pk")).order_by("-date")
        last = {pk: day for pk, day in GbpLocation.objects.filter(
            integration=self.integration).annotate(m=Subquery(newest.values("date")[:1]))
            .values_list("pk", "m") if day is not None}
        backfill = self.end - timedelta(days=settings.GBP_BACKFILL_DAYS - 1)
        revision = timedelta(days=settings.GBP_REVISION_DAYS)
        return {pk: min(self.end, last[pk] - revision) if pk in last else backfill
                for pk in self.locations}

    # --- fetching (on the pool's threads) ------------------------------------------------------
    def work(self, unit):
        try:
            if unit[0] == "listing":
                return self.fetch_listing()
            if unit[0] == "metrics":
                return self.fetch_metrics(unit[1], unit[2])
            return self.fetch_reviews(unit[1], unit[2])
        except QuotaExhausted as exc:
            return exc
        except SyncError as exc:
            # Wrong data, or a location gone since the listing (404): that item fails, the rest
            # goes on. Anything else (403, an outage, a revoked grant) stops the run, as does
            # any failure of the listing (a partial one is never taken for a complete one).
            if unit[0] == "listing" or (not isinstance(exc, BadData)
                                        and exc.code != "http_404"):
                return _Stop(exc)
            self.bad_data = self.bad_data or isinstance(exc, BadData)
            locations = [unit[1]] if unit[0] == "metrics" else unit[1]
            what = (f"location {unit[1].name}: metrics" if unit[0] == "metrics"
                    else f"reviews of {len(unit[1])} location(s)")
            return _Problem(locations, f"{what}: {exc.message}",
                            not_found=exc.code == "http_404")
        except Exception as exc:  # SyncError, token errors, anything else: the run stops
            return _Stop(exc)

    def fetch_metrics(self, loc, start) -> _Metrics:
        start = start or self.end
        metrics_api = self.metrics_api
        body = self.api.call("performance", lambda: metrics_api.fetchMultiDailyMetricsTimeSeries(
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
                    name = entry.get("name")
                    loc = by_name.get(name) if isinstance(name, str) else None
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
        if isinstance(outcome, _Listing):
            self.write_listing(outcome)
        elif isinstance(outcome, _Metrics):
            if outcome.location.pk not in self.gone:
                self.metrics_buffer.append(outcome)
            if len(self.metrics_buffer) >= FLUSH_LOCATIONS:
                self.flush_metrics()
        elif isinstance(outcome, _Reviews):
            self.write_reviews(outcome)
        elif isinstance(outcome, _Problem):
            if all(loc.pk in self.gone for loc in outcome.locations):
                pass  # the locations were removed at Google: nothing failed
            elif outcome.not_found and not self.listed:
                self.deferred.append(outcome)  # the listing may show them removed
            else:
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
        changed = [(loc, metric, day, value)
                   for loc, rows in ((m.location.pk, m.rows) for m in batch)
                   for (metric, day), value in rows.items()
                   if existing.get((loc, metric, day)) != value]
        if changed:  # the values and their daily totals together, or neither: a value
            # stored without its totals would look unchanged to the next sync, which then
            # would not write them either
            with transaction.atomic():
                upsert_rows(GbpDailyMetric, ["location", "metric", "date", "value"], changed,
                            unique=["location", "metric", "date"], update=["value"],
                            new=not existing)
                # The overview's daily totals of the days that changed, from what was fetched
                # (every metric of every day asked for), without reading back.
                rollup.write({m.location.pk: m.rows for m in batch},
                             {(loc, day) for loc, _metric, day, _value in changed})
        self.result.metric_rows += len(changed)
        for m in batch:
            self.result.start_date = min(filter(None, [self.result.start_date, m.start]))
        self.result.end_date = self.end
        self.metrics_done.update(ids)

    def write_reviews(self, fetched: _Reviews):
        if self.gone:  # removed by the listing meanwhile
            fetched.locations = [loc for loc in fetched.locations if loc.pk not in self.gone]
            fetched.items = {key: v for key, v in fetched.items.items()
                             if key[0] not in self.gone}
        ids = [loc.pk for loc in fetched.locations]
        rows = GbpReview.objects.filter(location_id__in=ids)
        if not fetched.full:  # only the reviews read; a full listing also needs the rest
            rows = rows.filter(review_id__in={rid for _, rid in fetched.items})
        existing = {(row[1], row[2]): (row[0], row[3:]) for row in rows.values_list(
            "pk", "location_id", "review_id", *REVIEW_FIELDS)}
        changed = []
        for (loc_pk, rid), values in fetched.items.items():
            row = tuple(values[f] for f in REVIEW_FIELDS)
            if existing.get((loc_pk, rid), (None, None))[1] != row:
                changed.append((loc_pk, rid, *row))
        with transaction.atomic():
            if changed:
                upsert_rows(GbpReview, ["location", "review_id", *REVIEW_FIELDS], changed,
                            unique=["location", "review_id"], update=REVIEW_FIELDS)
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
        if changed:  # one statement run per row (bulk_update's CASE WHEN costs more to build)
            meta, ops = GbpLocation._meta, connection.ops
            rating, count = meta.get_field("average_rating"), meta.get_field("total_review_count")
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {ops.quote_name(meta.db_table)} SET {ops.quote_name(rating.column)} "
                    f"= %s, {ops.quote_name(count.column)} = %s WHERE "
                    f"{ops.quote_name(meta.pk.column)} = %s",
                    [(rating.get_db_prep_save(loc.average_rating, connection),
                      count.get_db_prep_save(loc.total_review_count, connection), loc.pk)
                     for loc in changed])

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
        return (self.prior_done | (self.metrics_done & self.reviews_done)) - self.gone

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
            fail(result, "bad_data" if self.bad_data else "partial",
                  f"Synced {done} of {self.total} location(s); {len(result.problems)} item(s) "
                  f"failed: {shown}" + (f" (and {more} more)" if more > 0 else "") + ".")
            return
        result.summary = {"total": self.total, "updated": result.locations,
                          "metric_values": result.metric_rows, "reviews": result.reviews,
                          "removed": result.deleted, "calls": calls}
        result.message = english_text(result.summary)  # for operators; pages word the counts

    # --- accounts and locations (this thread) ----------------------------------------------------
    def parsed(self, items, parse, what):
        """({name: values} of the items that parse, whether all did); each one that does not
        is noted as a problem of the sync."""
        parsed, clean = {}, True
        for item in items:
            try:
                name, values = parse(item)
            except BadData as exc:
                self.note_problem(f"{what}: {exc.message}")
                self.bad_data, clean = True, False
                continue
            parsed.setdefault(name, values)
        return parsed, clean

    def fetch_listing(self) -> "_Listing":
        """Every account and every account's locations, parsed (on any thread); a failed page
        raises before anything is written."""
        accounts, accounts_clean = self.list_accounts()
        locations = {}
        for name in accounts:  # every page first: a failed one raises before any is parsed
            items = [item for page in self.location_pages(name) for item in page]
            locations[name] = self.parsed(items, parse_location, f"a location of {name}")
        return _Listing(accounts, accounts_clean, locations)

    def write_listing(self, listing: "_Listing"):
        """One bulk upsert of the accounts, one of the locations; accounts and locations no
        longer listed go only after a clean listing. The locations stored before that are
        no longer there are `gone`, the new ones `added`."""
        accounts = self.store_accounts(listing.accounts, listing.accounts_clean)
        parsed, clean_accounts = {}, []
        for name, (locations, clean) in listing.locations.items():
            for location, values in locations.items():
                parsed.setdefault(location, {**values, "account_id": accounts[name].pk})
            if clean:
                clean_accounts.append(accounts[name])
        rows = self.store_locations(parsed)
        self.result.deleted += GbpLocation.objects.filter(
            integration=self.integration, account__in=clean_accounts).exclude(
            name__in=list(parsed)).delete()[0]
        self.listed = True
        if self.locations:  # a resync, under way on the locations stored before
            # Still stored: what is listed, and what a listing with problems did not remove.
            stored = {row.pk for row in rows.values()} | set(GbpLocation.objects.filter(
                pk__in=list(self.locations)).values_list("pk", flat=True))
            self.gone = set(self.locations) - stored
            self.added = stored - set(self.locations)
            for pk in self.gone:
                del self.locations[pk]
            # What was fetched for them before is not written (take skips what comes after).
            self.metrics_buffer = [m for m in self.metrics_buffer
                                   if m.location.pk not in self.gone]
            self.total = len(self.locations) + len(self.added)
            self.result.locations_total = self.total
        deferred, self.deferred = self.deferred, []
        for problem in deferred:
            self.take(problem)
