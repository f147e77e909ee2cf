"""What a GBP sync produces: its result, what each piece of its work hands back, and a
successful sync's summary in words."""

import logging
from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils import translation
from django.utils.translation import gettext, ngettext

from .charts import grouped
from .models import GbpLocation

log = logging.getLogger(__name__)

# A successful sync's counts (SyncResult.summary, GbpSyncState.last_summary), by these names.
SUMMARY_COUNTS = ("total", "updated", "metric_values", "reviews", "removed", "calls")


def summary_text(summary) -> str:
    """What a successful sync did, in plain words of the active language, its numbers grouped
    as the language writes them: "Synced 300 locations: 12 updated, 27,000 metric values and
    6,000 reviews written, none removed. 334 requests to Google." "" when `summary` does not
    hold the counts (none kept, or from an older version): the caller shows the sentence stored
    with the integration instead. Raises nothing."""
    try:
        counts = {key: _count(summary[key]) for key in SUMMARY_COUNTS}
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""
    try:
        return _words(counts)
    except Exception:  # a catalogue with a wrong placeholder: the stored sentence instead
        log.warning("could not word a GBP sync summary in %r", translation.get_language(),
                    exc_info=True)
        return ""


def english_text(summary) -> str:
    """summary_text() in English, whatever language is active: the sentence stored with the
    integration (operators, commands, logs)."""
    with translation.override("en"):
        return summary_text(summary)


def _count(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(value)
    n = int(value)
    if n < 0:
        raise ValueError(value)
    return n


def _words(c: dict) -> str:
    def n(key):  # "27,000" in English, "27.000" in German
        return grouped(c[key])

    synced = ngettext("Synced {count} location", "Synced {count} locations",
                      c["total"]).format(count=n("total"))
    updated = (ngettext("{count} updated", "{count} updated", c["updated"]).format(
        count=n("updated")) if c["updated"] else gettext("none updated"))
    written = gettext("{metric_values} and {reviews} written").format(
        metric_values=ngettext("{count} metric value", "{count} metric values",
                               c["metric_values"]).format(count=n("metric_values")),
        reviews=ngettext("{count} review", "{count} reviews", c["reviews"]).format(
            count=n("reviews")))
    removed = (ngettext("{count} removed", "{count} removed", c["removed"]).format(
        count=n("removed")) if c["removed"] else gettext("none removed"))
    requests = ngettext("{count} request to Google.", "{count} requests to Google.",
                        c["calls"]).format(count=n("calls"))
    # Translators: the parts are worded above ("Synced 300 locations", "12 updated", "27,000
    # metric values and 6,000 reviews written", "none removed", "334 requests to Google.").
    return gettext("{synced}: {updated}, {written}, {removed}. {requests}").format(
        synced=synced, updated=updated, written=written, removed=removed, requests=requests)


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
    # A successful sync's counts, by the names of SUMMARY_COUNTS (empty until it succeeds).
    summary: dict = field(default_factory=dict)

    def as_dict(self):
        data = asdict(self)
        for key in ("start_date", "end_date"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def fail(result, code, message):
    result.ok, result.error_code, result.message = False, code, message




class Paused(Exception):
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
    not_found: bool = False  # Google answered 404: the location may be gone since


@dataclass
class _Listing:
    accounts: dict  # name -> values
    accounts_clean: bool
    locations: dict  # account name -> ({location name: values}, whether all parsed)


@dataclass
class _Stop:
    error: Exception
