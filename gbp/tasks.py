"""Celery tasks of the GBP sync. Eager in-process on the embedded default."""

from celery import shared_task

from integrations import tokens
from integrations.models import Integration

from .providers import provider_ids


# Limits: a full GBP backfill of many locations is minutes of API calls, never an hour.
@shared_task(soft_time_limit=600, time_limit=660)
def sync_integration(integration_id):
    from .sync import GbpSyncService

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.ACTIVE:
        return {"skipped": True}
    try:
        return GbpSyncService().sync(integration).as_dict()
    except tokens.TokenError as exc:
        return {"integration": integration_id, "error": exc.code}


# Limits: one indexed query and one message per integration.
@shared_task(soft_time_limit=300, time_limit=360)
def sync_all():
    """Enqueue a sync of every active integration whose provider syncs (the daily beat)."""
    ids = Integration.objects.active().filter(
        provider__in=provider_ids()).values_list("pk", flat=True)
    count = 0
    for integration_id in ids.iterator():
        sync_integration.delay(integration_id)
        count += 1
    return {"enqueued": count}

