"""Celery tasks. Eager in-process on the embedded default; real workers with REDIS_URL."""

import logging

from celery import shared_task

from .models import Integration

log = logging.getLogger(__name__)


@shared_task(soft_time_limit=600, time_limit=660)
def sync_integration(integration_id):
    # Limits: a full GBP backfill of many locations is minutes of API calls, never an hour.
    from .gbp import GbpSyncService

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.ACTIVE:
        return {"skipped": True}
    return GbpSyncService().sync(integration).as_dict()
