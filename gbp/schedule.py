"""The day's syncs spread across a window, so they fit Google's quota instead of all starting at
03:00 and living on 429s.

Each integration needs about one Performance API call per location (the busiest API: metrics
are fetched per location), so its share of the quota is (locations + overhead) / rate seconds.
The starts are spaced by those shares, scaled to fill GBP_SYNC_WINDOW_SECONDS when the day's
work fits in it; when it does not, they follow each other at the quota's pace (and the day runs
past the window, which is logged: raise the quota or the window).
"""

import logging

from django.db.models import Count

from integrations.models import Integration

from .conf import quota_per_minute, settings
from .limiter import HEADROOM
from .models import GbpLocation

log = logging.getLogger(__name__)

OVERHEAD_CALLS = 3  # accounts, locations listing, a reviews reading of a small account
UNKNOWN_LOCATIONS = 10  # never synced: assume a small business


def plan(integration_ids: list[int], window_seconds: float | None = None,
         per_minute: int | None = None) -> list[tuple[int, int]]:
    """[(integration id, countdown in seconds)], in the given order."""
    window = settings.GBP_SYNC_WINDOW_SECONDS if window_seconds is None else window_seconds
    rate = (per_minute or quota_per_minute("performance")) * HEADROOM / 60.0
    # One grouped query over the active integrations' locations (no IN list of every id).
    counts = dict(GbpLocation.objects.filter(integration__status=Integration.Status.ACTIVE)
                  .values("integration_id").annotate(n=Count("pk"))
                  .values_list("integration_id", "n"))
    needs = [(counts.get(pk, UNKNOWN_LOCATIONS) + OVERHEAD_CALLS) / rate for pk in integration_ids]
    total = sum(needs)
    scale = window / total if total and total < window else 1.0
    if total > window:
        log.warning("GBP daily sync: %.0f s of quota for %s integrations does not fit the "
                    "%.0f s window; the syncs follow each other at the quota's pace",
                    total, len(integration_ids), window)
    result, start = [], 0.0
    for pk, need in zip(integration_ids, needs):
        result.append((pk, int(start)))
        start += need * scale
    return result


def due_ids(providers) -> list[int]:
    return list(Integration.objects.active().filter(provider__in=providers)
                .order_by("pk").values_list("pk", flat=True))
