"""Celery tasks of the GBP sync, and "Sync now" on a background thread where Celery would run
it in-process (task_always_eager: the embedded default), so the click returns at once."""

import logging
import threading
import traceback

from celery import shared_task
from kombu.exceptions import OperationalError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from integrations import http, tokens
from integrations.models import Integration

from . import schedule, state as sync_state
from .conf import settings
from .providers import provider_ids

log = logging.getLogger(__name__)

# A sync stops starting new work after this long and continues in a new task (so a very large
# account never meets the time limit below; the quota, not the worker, sets its pace).
BUDGET_SECONDS = 480


# Limits: the budget above plus the calls in flight when it ran out.
@shared_task(bind=True, soft_time_limit=600, time_limit=660)
def sync_integration(self, integration_id, since=None):
    """Sync one integration. `since` (the daily run's start): skip it if a sync finished after
    that, which is what a redelivered copy of a long-countdown message finds."""
    eager = bool(self.request.is_eager)  # in-process: nothing could run it later
    outcome, result = _sync(integration_id, since, budget=None if eager else BUDGET_SECONDS)
    if result is not None and result.deferred and not eager:
        # quota exhausted or out of time: carry on later
        sync_integration.apply_async((integration_id,), countdown=int(result.resume_in))
    return outcome


def _sync(integration_id, since=None, budget=None):
    """One sync of an active integration: (what the task returns, the SyncResult or None when
    nothing ran)."""
    from .sync import GbpSyncService

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.ACTIVE:
        sync_state.unqueue(integration_id)
        return {"skipped": True}, None
    if since and _synced_since(integration_id, parse_datetime(since)):
        return {"skipped": True, "reason": "already synced"}, None
    try:
        result = GbpSyncService().sync(integration, budget_seconds=budget)
    except tokens.TokenError as exc:
        return {"integration": integration_id, "error": exc.code}, None
    return result.as_dict(), result


def _synced_since(integration_id, since) -> bool:
    state = sync_state.get(integration_id)
    return bool(since and state.finished_at and state.finished_at >= since)


def sync_now(integration_id, clicked):
    """"Sync now", for the page and the API alike: (started, state). `started` is None when the
    sync state refuses it (one under way, or the account's last click too recent: `state` says
    which), False when the task queue cannot be reached (the request is withdrawn), True when
    it is queued."""
    unclaimed = sync_state.is_unclaimed(sync_state.get(integration_id), clicked)
    allowed, state = sync_state.request_now(integration_id)
    if not allowed:
        return None, state
    if unclaimed:
        log.warning("integration %s: a queued GBP sync was not picked up by a worker within %s s; "
                    "queued again (is a Celery worker running?)", integration_id,
                    settings.GBP_SYNC_PICKUP_SECONDS)
    if not enqueue_sync(integration_id, since=state.requested_at):
        sync_state.unqueue(integration_id)
        return False, state
    return True, state


def queue_down() -> str:
    """What a user is told when "Sync now" could not reach the task queue."""
    return gettext("The sync could not be started: our background task queue cannot be "
                   "reached. This is a problem on our side and it has been logged for our team; "
                   "nothing for you to do.")


def enqueue_sync(integration_id, since=None, *, in_thread=None) -> bool:
    """Queue a sync now (admin's action, "Sync now"); False if the broker cannot be reached.
    `since` (the click's time): a copy of the message that arrives after a sync finished later
    than that (a retried click whose first message a worker ran after all) is skipped.

    Where Celery would run the task in-process (task_always_eager, the embedded default), the
    sync runs on a background thread of this process instead (GBP_SYNC_IN_THREAD; `in_thread`
    False keeps it in the caller, as admin's action does): the caller returns at once and the
    sync state shows it queued, then running with its progress, as with a worker."""
    if in_thread is None:
        in_thread = runs_in_thread()
    if in_thread:
        return start_thread(integration_id, since)
    try:
        sync_integration.delay(integration_id, since=since.isoformat() if since else None)
    except (OperationalError, OSError) as exc:  # the broker is down (its text may hold its URL)
        log.error("integration %s: could not queue a GBP sync (%s): is the Celery broker "
                  "reachable? (your Celery app's broker_url, CELERY_BROKER_URL in Django "
                  "settings)", integration_id, type(exc).__name__)
        return False
    except Exception:
        log.exception("integration %s: could not queue a GBP sync", integration_id)
        return False
    return True


def runs_in_thread() -> bool:
    """Whether "Sync now" runs on a background thread here: GBP_SYNC_IN_THREAD, and Celery would
    run the task in-process (the host's app, or the one integrations makes from the Django
    settings, has task_always_eager)."""
    return bool(settings.GBP_SYNC_IN_THREAD and sync_integration.app.conf.task_always_eager)


# --- "Sync now" on a background thread (the embedded default) -------------------------------
# A sync paused by Google's quota waits and resumes on its thread this many times (as
# sync_integrations does); after that it stays paused and Sync now resumes it.
MAX_RESUMES = 12

_threads: dict = {}  # integration id -> its sync thread while it lives
_threads_lock = threading.Lock()


def start_thread(integration_id, since=None) -> bool:
    """Run the sync of `integration_id` on a daemon thread, unless one of this process is
    already syncing it (the lease allows one sync anyway; that thread takes a queued click up
    when it loops). Inside a transaction, the thread starts once it commits (it must see the
    queued state). False if no thread could be started."""
    since = since.isoformat() if since else None
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _start(integration_id, since))
        return True
    return _start(integration_id, since)


def _start(integration_id, since) -> bool:
    with _threads_lock:
        alive = _threads.get(integration_id)
        if alive is not None and alive.is_alive():
            log.info("integration %s: a GBP sync thread is already running; not starting "
                     "another", integration_id)
            return True
        thread = threading.Thread(target=_run_in_thread, args=(integration_id, since),
                                  name=f"gbp-sync-{integration_id}", daemon=True)
        _threads[integration_id] = thread
        try:
            thread.start()
        except RuntimeError as exc:  # the process cannot start another thread
            del _threads[integration_id]
            log.error("integration %s: could not start a GBP sync thread (%s)", integration_id,
                      exc)
            return False
    return True


def _run_in_thread(integration_id, since):
    """The sync, as an eager task would run it (no time budget), on this thread; a pause for
    Google's quota is waited out here and resumed, and a click queued while the thread was
    finishing is taken up. Errors are logged without their text (it may hold what a provider
    sent); the thread's database connection is closed at the end."""
    me = threading.current_thread()
    try:
        for _round in range(3):  # a click per round at most; never a busy loop
            _sync_resuming(integration_id, since)
            since = None
            with _threads_lock:  # _start() sees this thread gone only once nothing is queued
                if sync_state.get(integration_id).status != sync_state.Status.QUEUED:
                    if _threads.get(integration_id) is me:
                        del _threads[integration_id]
                    break
    except Exception as exc:
        log.error("integration %s: the GBP sync on a background thread stopped on %s (its text "
                  "is not logged: it may hold what a provider sent)\n%s", integration_id,
                  type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)).rstrip())
        try:
            sync_state.unqueue(integration_id)  # not shown as waiting for a worker
        except Exception:  # the database is gone too: the pickup window ends the wait
            pass
    finally:
        with _threads_lock:
            if _threads.get(integration_id) is me:
                del _threads[integration_id]
        connection.close()


def _sync_resuming(integration_id, since):
    _outcome, result = _sync(integration_id, since)
    for _ in range(MAX_RESUMES):
        if result is None or not result.deferred:
            return
        connection.close()  # not held open while it waits
        log.info("integration %s: GBP sync paused; resuming on its thread in %.0f s",
                 integration_id, result.resume_in)
        http.wait(result.resume_in)
        _outcome, result = _sync(integration_id)


def sync_thread(integration_id) -> threading.Thread | None:
    """The live thread syncing `integration_id` in this process, if any (tests, diagnostics)."""
    with _threads_lock:
        thread = _threads.get(integration_id)
    return thread if thread is not None and thread.is_alive() else None


# The daily syncs go out in waves: no message waits in the broker longer than this, which stays
# well under the broker's visibility timeout (README, "Running in production"): with Redis, a
# message whose countdown outlasts it is delivered again, and a killed worker's tasks come back
# only after it, so it is sized to minutes, not to the sync window's hours.
WAVE_SECONDS = 600


# Limits: one indexed query, one grouped count and one message per integration of the wave.
@shared_task(soft_time_limit=300, time_limit=360)
def sync_all(started=None, offset=0):
    """The daily beat: every active integration whose provider syncs, spread across
    GBP_SYNC_WINDOW_SECONDS by its share of the quota (gbp.schedule). This call queues the
    syncs that start within WAVE_SECONDS of `offset` (seconds since the day's run `started`)
    and hands the rest to a copy of itself that runs when the next wave begins."""
    started = started or timezone.now().isoformat()
    count = last = 0
    more = False
    for integration_id, countdown in schedule.plan(schedule.due_ids(provider_ids())):
        if countdown < offset:
            continue  # queued by an earlier wave
        if countdown >= offset + WAVE_SECONDS:
            more = True
            break
        sync_integration.apply_async((integration_id,), {"since": started},
                                     countdown=countdown - offset)
        count, last = count + 1, countdown
    if more:
        sync_all.apply_async(kwargs={"started": started, "offset": offset + WAVE_SECONDS},
                             countdown=WAVE_SECONDS)
    return {"enqueued": count, "last_countdown": last, "continues": more}
