"""Celery tasks. Eager in-process on the embedded default; real workers with REDIS_URL.

Tasks are acknowledged late (settings: CELERY_TASK_ACKS_LATE): a worker killed mid-task leaves
its task on the broker for another worker, and the token service's lease keeps that safe.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import proactive, tokens
from .models import Integration

log = logging.getLogger(__name__)


# Limits: one refresh is at most a few bounded HTTP attempts inside its lease (45 s by default);
# the hard limit leaves room for that and is still short enough that a stuck worker is recycled.
@shared_task(bind=True, soft_time_limit=90, time_limit=120, max_retries=3)
def refresh_integration(self, integration_id, within_seconds=None):
    within = timedelta(seconds=within_seconds or settings.INTEGRATIONS_REFRESH_BUFFER_SECONDS)
    since = timezone.now() - timedelta(seconds=settings.INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS)
    result = proactive.refresh_one(integration_id, within, since)
    if result.outcome == "transient" and self.request.retries < self.max_retries:
        # Back off (and honour the provider's Retry-After through the credential's cooldown).
        delay = max(settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS, 60 * 2 ** self.request.retries)
        if not self.request.is_eager:
            raise self.retry(countdown=delay)
    return {"integration": integration_id, "outcome": result.outcome, "code": result.code}


# Limits: selecting and enqueueing is one indexed scan; even 100,000 rows take well under this.
@shared_task(soft_time_limit=300, time_limit=360)
def refresh_expiring_tokens(within_seconds=24 * 3600):
    """What `refresh_tokens --enqueue` does: one refresh_integration task per due integration."""
    summary = proactive.run(timedelta(seconds=within_seconds), enqueue=True)
    return summary.as_dict()


@shared_task(soft_time_limit=600, time_limit=660)
def sync_integration(integration_id):
    # Limits: a full GBP backfill of many locations is minutes of API calls, never an hour.
    from .gbp import GbpSyncService

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.ACTIVE:
        return {"skipped": True}
    try:
        return GbpSyncService().sync(integration).as_dict()
    except tokens.TokenError as exc:
        return {"integration": integration_id, "error": exc.code}


@shared_task(soft_time_limit=300, time_limit=360)
def sync_all():
    """Enqueue a sync of every active integration whose provider syncs (the daily beat)."""
    from .providers import registry

    ids = Integration.objects.filter(
        status=Integration.Status.ACTIVE, provider__in=registry.syncing_ids()
    ).values_list("pk", flat=True)
    count = 0
    for integration_id in ids.iterator():
        sync_integration.delay(integration_id)
        count += 1
    return {"enqueued": count}
