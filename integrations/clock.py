"""One clock: the database's.

Leases, expiry, cooldowns and the minimum age between refreshes are decided with
`timezone.now()` in every process and compared with times other processes wrote. Two processes
whose clocks disagree by minutes take each other's leases (and a strict provider revokes the grant
refreshed twice) or hand out a token that has expired. So each process compares its clock with
the database's, at most once a minute, and refuses to refresh or hand out a token while it is
off by more than INTEGRATIONS_MAX_CLOCK_SKEW_SECONDS: an operator problem, said plainly, that
costs no grant.
"""

import logging
import threading
import time
from datetime import datetime, timezone as dt_timezone

from django.db import connection
from django.utils import timezone

from .conf import settings
from .errors import ErrorKind

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 60.0

_lock = threading.Lock()
_last = {"at": None, "skew": 0.0}


class ClockSkew(Exception):
    kind = ErrorKind.OPERATOR
    code = "clock_skew"

    def __init__(self, skew: float, limit: float):
        self.skew = skew
        self.message = (f"This process's clock is {abs(skew):.1f} s "
                        f"{'ahead of' if skew > 0 else 'behind'} the database's (the limit is "
                        f"{limit:g} s): no token is refreshed or handed out until it is "
                        "synchronised (NTP).")
        super().__init__(self.message)


def database_now() -> datetime:
    """The database server's clock (not the transaction's start)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT clock_timestamp()")
            value = cursor.fetchone()[0]
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
            value = datetime.fromisoformat(cursor.fetchone()[0]).replace(tzinfo=dt_timezone.utc)
        else:
            cursor.execute("SELECT CURRENT_TIMESTAMP")
            value = cursor.fetchone()[0]
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def measure() -> float:
    """This process's clock minus the database's, in seconds (the round trip halved out)."""
    before = timezone.now()
    server = database_now()
    after = timezone.now()
    return ((before + (after - before) / 2) - server).total_seconds()


def skew(force: bool = False) -> float:
    """The last measured skew, measured again if older than a minute (or `force`)."""
    now = time.monotonic()
    with _lock:
        fresh = _last["at"] is not None and now - _last["at"] < CHECK_EVERY_SECONDS
        if fresh and not force:
            return _last["skew"]
    value = measure()
    with _lock:
        _last["at"], _last["skew"] = time.monotonic(), value
    limit = _limit()
    if limit and abs(value) > limit:  # said once per measurement, not once per refusal
        log.error("%s", ClockSkew(value, limit).message)
    return value


def _limit() -> float:
    return max(0.0, float(settings.INTEGRATIONS_MAX_CLOCK_SKEW_SECONDS))


def check(force: bool = False) -> None:
    """Raise ClockSkew if this process's clock is too far from the database's."""
    limit = _limit()
    if not limit:
        return
    value = skew(force)
    if abs(value) > limit:
        raise ClockSkew(value, limit)


def forget() -> None:
    """Measure again on the next check (tests, and after a clock change)."""
    with _lock:
        _last["at"] = None
