"""The gbp app's settings (GBP_*) and their defaults; a host sets only what it changes."""

from integrations.conf import AppSettings

DEFAULTS = {
    # Days of metrics fetched on a first sync.
    "GBP_BACKFILL_DAYS": 90,
    # Later syncs re-fetch this many days before the last one stored (Google revises them).
    "GBP_REVISION_DAYS": 5,
    # Page sizes of the list calls (Google's maxima by default); "review_locations" is how many
    # locations one batchGetReviews call asks for.
    "GBP_PAGE_SIZES": {"accounts": 20, "locations": 100, "reviews": 50, "review_locations": 50},
    # Attempts per API call on 5xx and network errors.
    "GBP_API_ATTEMPTS": 3,
    # Google's quota, requests per minute per API per Cloud project, shared by every worker and
    # every integration (an int for every API, or {"performance": 600, ...} per API).
    "GBP_QUOTA_PER_MINUTE": 300,
    # Where the rate limiter keeps its state: a redis:// URL, or the alias of a Django cache. A
    # Redis cache shares the limit across processes and machines; any other cache (local memory,
    # the embedded default) limits each process on its own.
    "GBP_RATE_LIMIT_STORE": "default",
    # Consecutive 429s one call waits out (the limiter pauses and slows down) before the sync
    # pauses itself and resumes later.
    "GBP_QUOTA_RETRIES": 6,
    # Threads one sync spreads its locations over (the limiter still paces them).
    "GBP_SYNC_CONCURRENCY": 8,
    # A full listing of a location's reviews (the only thing that deletes reviews) at most this
    # often; in between, reviews are read newest first and the reading stops at a known one.
    "GBP_FULL_REVIEW_SYNC_DAYS": 7,
    # Seconds: "Sync now" again this soon after the last click is refused with a message.
    "GBP_SYNC_NOW_MIN_INTERVAL": 300,
    # Seconds: the daily schedule spreads the syncs over this window after it starts.
    "GBP_SYNC_WINDOW_SECONDS": 4 * 3600,
    # Seconds: one sync per integration at a time; a killed sync blocks the next this long.
    "GBP_SYNC_LEASE_SECONDS": 900,
    # Seconds a "Sync now" may wait for a worker to pick it up; after that the page says no
    # worker has, and Sync now may be pressed again.
    "GBP_SYNC_PICKUP_SECONDS": 60,
    # Where Celery would run a "Sync now" in-process (task_always_eager: the embedded default),
    # run it on a background thread of this process instead: the click returns at once and the
    # page shows the sync's progress as it does with a worker. False: in the request, as eager.
    "GBP_SYNC_IN_THREAD": True,
}

settings = AppSettings(DEFAULTS)


def page_size(name: str) -> int:
    """One of GBP_PAGE_SIZES; a host that sets only some keys keeps the defaults of the rest."""
    sizes = settings.GBP_PAGE_SIZES or {}
    return int(sizes.get(name) or DEFAULTS["GBP_PAGE_SIZES"][name])


def quota_per_minute(api: str) -> int:
    quota = settings.GBP_QUOTA_PER_MINUTE
    if isinstance(quota, dict):
        quota = quota.get(api, DEFAULTS["GBP_QUOTA_PER_MINUTE"])
    return max(1, int(quota))
