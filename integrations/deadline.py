"""A deadline on the token service's queries, for a database that stops answering.

Connect timeouts, TCP keepalives and PostgreSQL's `statement_timeout` bound a database that is
gone or slow. None of them bounds one that is frozen with the connection open (a paused VM or
container, `kill -STOP`, a hung storage layer): its kernel acknowledges every packet, so
keepalives pass, and the server cannot time out a statement it never runs. A query then waits
as long as the freeze lasts, silently.

So inside `bounded()` (a refresh run, its threads and the refresh tasks), a PostgreSQL query
that has not answered after INTEGRATIONS_DB_DEADLINE_SECONDS has its connection's socket shut
down by a watchdog thread: the query fails at once with an OperationalError that says so, and
the caller treats it as any lost database (tokens.durably retries the write of issued tokens on
a fresh connection; a run stops with its counts). Outside `bounded()`, a host's own queries are
never touched. A commit is not a query here (Django sends it outside the cursor), so a freeze
that starts exactly at a commit is still bounded only by the freeze.
"""

import functools
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager

from django.db import OperationalError
from django.db.backends.signals import connection_created

from .conf import settings

log = logging.getLogger(__name__)

_local = threading.local()
_watched: dict[object, tuple[float, int, float]] = {}  # key -> (monotonic deadline, fd, seconds)
_fired: set[object] = set()
_wakes_at: list[float | None] = [None]  # when the watchdog looks next (None: when woken)
_cond = threading.Condition()
_watchdog: threading.Thread | None = None


class DatabaseStalled(OperationalError):
    """A query of the token service found no answer before its deadline."""


@contextmanager
def bounded(seconds: float | None = None):
    """The queries this thread runs inside the block have a deadline (`seconds`, else the
    setting; 0 turns it off). Nested blocks keep the outer deadline."""
    previous = getattr(_local, "seconds", None)
    if previous is None:
        _local.seconds = settings.INTEGRATIONS_DB_DEADLINE_SECONDS if seconds is None else seconds
    try:
        yield
    finally:
        _local.seconds = previous


def in_bounds(work):
    """`work` wrapped to run inside `bounded()`, in whichever thread calls it."""
    @functools.wraps(work)
    def bounded_work(*args, **kwargs):
        with bounded():
            return work(*args, **kwargs)
    return bounded_work


def _execute(execute, sql, params, many, context):
    seconds = getattr(_local, "seconds", None)
    if not seconds:
        return execute(sql, params, many, context)
    try:
        fd = context["connection"].connection.fileno()
    except Exception:  # not connected yet, or a driver without one: nothing to watch
        return execute(sql, params, many, context)
    key = object()
    _watch(key, seconds, fd)
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        if _unwatch(key):
            raise DatabaseStalled(
                f"the database did not answer within {seconds:g} s "
                "(INTEGRATIONS_DB_DEADLINE_SECONDS); the connection was dropped") from exc
        raise
    finally:
        _unwatch(key)


def _watch(key, seconds, fd):
    global _watchdog
    with _cond:
        deadline = time.monotonic() + seconds
        _watched[key] = (deadline, fd, seconds)
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = threading.Thread(target=_run, daemon=True, name="db-deadline")
            _watchdog.start()
        # Woken only when this deadline comes before its next look (with one setting, the
        # first query after a quiet spell): not once per query.
        if _wakes_at[0] is None or deadline < _wakes_at[0]:
            _cond.notify()


def _unwatch(key) -> bool:
    """Stop watching `key`; whether its deadline had fired."""
    with _cond:
        _watched.pop(key, None)
        if key in _fired:
            _fired.discard(key)
            return True
        return False


def _run():
    while True:
        with _cond:
            now = time.monotonic()
            for key, (deadline, fd, seconds) in list(_watched.items()):
                if deadline <= now:
                    del _watched[key]
                    _fired.add(key)
                    _drop(fd, seconds)  # under the lock: the query cannot end and free the fd
            soonest = min((deadline for deadline, _, _ in _watched.values()), default=None)
            _wakes_at[0] = soonest
            _cond.wait(None if soonest is None else max(soonest - now, 0.01))


def _drop(fd, seconds):
    """Shut the socket down under the waiting driver: its read returns at once, with an error."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
    log.error("a database query had no answer after %g s (INTEGRATIONS_DB_DEADLINE_SECONDS): the "
              "server is not answering (frozen or overloaded); its connection was dropped", seconds)


def _install(sender, connection, **kwargs):
    if connection.vendor == "postgresql" and _execute not in connection.execute_wrappers:
        connection.execute_wrappers.append(_execute)


def install():
    """Watch the queries of every PostgreSQL connection this process opens (inside
    `bounded()` only; elsewhere the wrapper passes straight through)."""
    connection_created.connect(_install, dispatch_uid="integrations.deadline")
