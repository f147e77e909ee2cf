"""Celery tasks. Eager in-process on the embedded default; real workers with a broker.

Tasks are acknowledged late (the host's CELERY_TASK_ACKS_LATE): a worker killed mid-task leaves
its task on the broker for another worker, and the token service's lease keeps that safe.
"""

import logging
from datetime import timedelta

from celery import shared_task
from kombu.exceptions import OperationalError

from . import proactive
from .conf import settings
from .errors import ErrorKind

log = logging.getLogger(__name__)


# Limits: one refresh is at most a few bounded HTTP attempts inside its lease (45 s by default);
# the hard limit leaves room for that and is still short enough that a stuck worker is recycled.
@shared_task(bind=True, soft_time_limit=90, time_limit=120, max_retries=3)
def refresh_integration(self, integration_id, within_seconds=None):
    within = timedelta(seconds=within_seconds or settings.INTEGRATIONS_REFRESH_BUFFER_SECONDS)
    result = proactive.refresh_one(integration_id, within, proactive.min_age_since())
    if result.outcome == ErrorKind.TRANSIENT and self.request.retries < self.max_retries:
        # Back off (and honour the provider's Retry-After through the credential's cooldown).
        delay = max(settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS, 60 * 2 ** self.request.retries)
        if not self.request.is_eager:
            raise self.retry(countdown=delay)
    return {"integration": integration_id, "outcome": result.outcome, "code": result.code}


def sender(within: timedelta):
    """What `refresh_tokens --enqueue` and the beat task hand to proactive.run: one task per id."""

    def send(integration_id):
        try:
            refresh_integration.delay(integration_id, within.total_seconds())
        except OperationalError as exc:  # the broker is down: nothing was changed
            raise proactive.BrokerUnavailable(
                f"could not enqueue ({type(exc).__name__}): is the broker (REDIS_URL) "
                "reachable?") from None

    return send


# Limits: selecting and enqueueing is one indexed scan; even 100,000 rows take well under this.
@shared_task(soft_time_limit=300, time_limit=360)
def refresh_expiring_tokens(within_seconds=24 * 3600):
    """What `refresh_tokens --enqueue` does: one refresh_integration task per due integration."""
    within = timedelta(seconds=within_seconds)
    return proactive.run(within, send=sender(within)).as_dict()
