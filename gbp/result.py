"""What a GBP sync produces: its result, and what each piece of its work hands back."""

from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils.translation import gettext_noop

from .models import GbpLocation

# A successful sync, in words: stored in English with the integration (operators, commands,
# logs), and worded again in the reader's language by the detail page from the counts the sync
# state keeps (GbpSyncState.last_summary, the names below).
SYNCED = gettext_noop("Synced {total} location(s): {updated} updated, {metric_values} metric "
                      "value(s) and {reviews} review(s) written, {removed} removed; {calls} API "
                      "call(s).")


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
    # A successful sync's counts, as SYNCED names them (empty until it succeeds).
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


@dataclass
class _Stop:
    error: Exception
