"""The gbp app's settings (GBP_*) and their defaults; a host sets only what it changes."""

from integrations.conf import AppSettings

DEFAULTS = {
    # Days of metrics fetched on a first sync.
    "GBP_BACKFILL_DAYS": 90,
    # Later syncs re-fetch this many days before the last one stored (Google revises them).
    "GBP_REVISION_DAYS": 5,
    # Page sizes of the list calls (Google's maxima by default).
    "GBP_PAGE_SIZES": {"accounts": 20, "locations": 100, "reviews": 50},
    # Attempts per API call on 429, 5xx and network errors.
    "GBP_API_ATTEMPTS": 3,
}

settings = AppSettings(DEFAULTS)
