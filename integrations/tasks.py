"""Celery tasks. Eager in-process on the embedded default; real workers with a broker.

Tasks are acknowledged late (the host's CELERY_TASK_ACKS_LATE): a worker killed mid-task leaves
its task on the broker for another worker, and the token service's lease keeps that safe.

The proactive refresh fans out in batches: one message per INTEGRATIONS_REFRESH_BATCH_SIZE ids,
each refreshed by a worker on INTEGRATIONS_REFRESH_BATCH_CONCURRENCY threads (the work is
waiting on providers, not computing).
"""

import logging
import mmap
from datetime import timedelta

from celery import Celery, current_app, shared_task, signals
from kombu.exceptions import OperationalError

from django.db.models import F

from . import deadline, notices, proactive, tokens
from .conf import settings
from .errors import ErrorKind
from .models import RefreshRun

log = logging.getLogger(__name__)

BROKER_HINT = ("is the Celery broker reachable? (the broker_url of your project's Celery app, "
               "CELERY_BROKER_URL in Django settings)")


def ensure_app():
    """A project with no Celery app of its own (no celery.py) gets one configured from its
    Django settings (the CELERY_* names), so CELERY_TASK_ALWAYS_EAGER and CELERY_BROKER_URL work
    as written instead of sending tasks to Celery's default amqp://localhost. A project with its
    own app (created before Django is set up, as Celery's Django guide has it) is left alone."""
    from celery import _state

    if _state.default_app is not None or list(_state._get_active_apps()):
        return None
    app = Celery("integrations")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.set_default()
    return app


def queue_problem(app=None) -> str:
    """Why a task sent now would never run ('' if it would): tasks are not eager and no broker
    is configured (Celery would try amqp://localhost), or the broker is in this process only."""
    conf = (app or current_app).conf
    if conf.task_always_eager:
        return ""
    broker = conf.broker_url or conf.broker_write_url or ""
    if not broker:
        return ("Celery has no broker configured and tasks are not eager: Sync now, the "
                "proactive refresh fan-out and notices would be sent to amqp://localhost.")
    if str(broker).startswith("memory://"):
        return ("Celery's broker is memory:// and tasks are not eager: no worker in another "
                "process will ever see a task.")
    return ""


# Limits: one refresh is at most a few bounded HTTP attempts inside its lease (45 s by default);
# the hard limit leaves room for that and is still short enough that a stuck worker is recycled.
@shared_task(bind=True, soft_time_limit=90, time_limit=120, max_retries=3)
@deadline.in_bounds
def refresh_integration(self, integration_id, within_seconds=None):
    within = timedelta(seconds=within_seconds or settings.INTEGRATIONS_REFRESH_BUFFER_SECONDS)
    result = proactive.refresh_one(integration_id, within, proactive.min_age_since())
    if result.outcome == ErrorKind.TRANSIENT and self.request.retries < self.max_retries:
        # Back off (and honour the provider's Retry-After through the credential's cooldown).
        delay = max(settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS, 60 * 2 ** self.request.retries)
        if not self.request.is_eager:
            raise self.retry(countdown=delay)
    return {"integration": integration_id, "outcome": result.outcome, "code": result.code}


# A worker's shutdown, as its pool's processes can see it: one byte of memory shared across the
# fork (Celery tells the pool's processes nothing; they would finish whole batches while a
# deploy's grace period runs out, and a SIGKILL then lost the refreshes in flight).
_shutdown = mmap.mmap(-1, 1)


@signals.worker_shutting_down.connect
def _worker_shutting_down(**kwargs):
    _shutdown[0] = 1


def shutting_down() -> bool:
    return _shutdown[0] == 1


STOPPING = "worker_stopping"


# Limits: a batch of 500 on 16 threads is ~32 rounds of one refresh each (a few hundred ms
# against a real provider, 45 s at the very worst inside a lease): minutes, never an hour. A
# transient failure is not retried here: the credential cools down and the next run takes it.
# When its worker shuts down (SIGTERM: a deploy, a scale-down), a batch starts no refresh: what
# is in flight finishes and stores its tokens, the rest goes back to the queue as a new batch
# (or, the broker gone, waits for the next run), so the worker is gone within one refresh.
@shared_task(soft_time_limit=900, time_limit=960)
@deadline.in_bounds
def refresh_batch(integration_ids, within_seconds, run_id=None):
    within = timedelta(seconds=within_seconds)
    since = proactive.min_age_since()
    outcomes, handed_back = {}, []

    def one(integration_id):
        if shutting_down():
            return proactive.Result(integration_id, "", "", "skipped", STOPPING)
        return proactive.refresh_one(integration_id, within, since)

    def take(result):
        if result.code == STOPPING:
            handed_back.append(result.integration_id)
        else:
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1

    proactive.in_threads(integration_ids, settings.INTEGRATIONS_REFRESH_BATCH_CONCURRENCY, one,
                         take)
    if handed_back:
        hand_back(sorted(handed_back), within_seconds, run_id)
    if run_id is not None:  # the run counts its batches done against those it sent
        _count_batch(run_id, "batches_done", "count the batch done")
    return outcomes


def _count_batch(run_id, field, what):
    """One more batch done or sent on the run's record, through a database restart."""
    tokens.durably(lambda: RefreshRun.objects.filter(pk=run_id).update(**{field: F(field) + 1}),
                   what=what, seconds=settings.INTEGRATIONS_REFRESH_LOCK_SECONDS)


def hand_back(integration_ids, within_seconds, run_id):
    """The part of a batch a stopping worker did not start, back on the queue as a batch of its
    own (counted as sent to the run, so health shows it until it is done)."""
    if refresh_batch.app.conf.task_always_eager:  # it would run here, now, and stop again
        log.warning("worker shutting down: %s refreshes of its batch not started; the next run "
                    "takes them", len(integration_ids))
        return
    try:
        refresh_batch.apply_async((integration_ids, within_seconds, run_id),
                                  argsrepr=f"({len(integration_ids)} ids from "
                                           f"{integration_ids[0]}, handed back)")
    except OperationalError as exc:
        log.warning("worker shutting down: %s refreshes of its batch not started and not handed "
                    "back (%s: %s); the next run takes them", len(integration_ids),
                    type(exc).__name__, BROKER_HINT)
        return
    log.warning("worker shutting down: %s refreshes of its batch not started, handed back to "
                "the queue", len(integration_ids))
    if run_id is not None:
        _count_batch(run_id, "batches_sent", "count the batch handed back")


def sender(within: timedelta):
    """What `refresh_tokens --enqueue` and the beat task hand to proactive.run: one message per
    batch of ids."""

    def send(integration_ids, run_id=None):
        try:
            ids = list(integration_ids)
            # A short argsrepr: Celery's repr of 500 ids cost more than sending them.
            refresh_batch.apply_async((ids, within.total_seconds(), run_id),
                                      argsrepr=f"({len(ids)} ids from {ids[0]})")
        except OperationalError as exc:  # the broker is down: nothing was changed
            raise proactive.BrokerUnavailable(
                f"could not enqueue ({type(exc).__name__}): {BROKER_HINT}") from None

    return send


# Limits: selecting and enqueueing streams ids (1,000,000 due in well under a minute); should it
# ever take longer than BUDGET, the task hands the rest to a copy of itself before its limit.
BUDGET_SECONDS = 240


@shared_task(soft_time_limit=300, time_limit=360)
def refresh_expiring_tokens(within_seconds=24 * 3600, after=0):
    """What `refresh_tokens --enqueue` does: one refresh_batch message per batch of due ids."""
    within = timedelta(seconds=within_seconds)
    try:
        summary = proactive.run(within, send=sender(within), after=after,
                                budget_seconds=BUDGET_SECONDS)
    except proactive.RunStopped as stopped:
        raise stopped.cause from None  # Celery records the failure; the run's record says why
    if summary.resume_after is not None:
        log.info("refresh fan-out continues after integration %s", summary.resume_after)
        refresh_expiring_tokens.delay(within_seconds, summary.resume_after)
    return {k: v for k, v in summary.as_dict().items() if k != "attention"}


# Limits: a handful of notices, each one adapter call (an email: seconds); far under a minute
# unless a mail server hangs, which its own timeout bounds.
@shared_task(soft_time_limit=240, time_limit=300)
def deliver_notices():
    """The notice sweep: deliver what is due (a first try that failed, or never ran)."""
    return notices.deliver_due()
