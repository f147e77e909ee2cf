"""Celery tasks of the GBP sync. Eager in-process on the embedded default."""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations import tokens
from integrations.models import Integration

from . import schedule, state as sync_state
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
    from .sync import GbpSyncService

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.ACTIVE:
        sync_state.unqueue(integration_id)
        return {"skipped": True}
    if since and _synced_since(integration_id, parse_datetime(since)):
        return {"skipped": True, "reason": "already synced"}
    eager = bool(self.request.is_eager)  # in-process: nothing could run it later
    try:
        budget = None if eager else BUDGET_SECONDS
        result = GbpSyncService().sync(integration, budget_seconds=budget)
    except tokens.TokenError as exc:
        return {"integration": integration_id, "error": exc.code}
    if result.deferred and not eager:  # quota exhausted or out of time: carry on later
        sync_integration.apply_async((integration_id,), countdown=int(result.resume_in))
    return result.as_dict()


def _synced_since(integration_id, since) -> bool:
    state = sync_state.get(integration_id)
    return bool(since and state.finished_at and state.finished_at >= since)


def enqueue_sync(integration_id, since=None) -> bool:
    """Queue a sync now (admin's action, "Sync now"); False if the broker cannot be reached.
    `since` (the click's time): a copy of the message that arrives after a sync finished later
    than that (a retried click whose first message a worker ran after all) is skipped."""
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
