"""Signal receivers: the core tells us about connections; we never hook into its views."""

import logging

from django.dispatch import receiver

from integrations import signals, tokens
from integrations.models import Integration, IntegrationEvent
from integrations.providers import registry

from . import state as sync_state
from .client import account_label
from .providers import is_gbp

log = logging.getLogger(__name__)


@receiver(signals.integration_connected, dispatch_uid="gbp.label_connection")
def label_connection(sender, integration, created, **kwargs):
    """Name a new or renewed connection after its Business Profile account:
    "owner@example.com · Acme Bakeries". Best effort: no label is no harm."""
    provider = registry.find(integration.provider)
    if not is_gbp(provider):
        return
    try:
        label = tokens.with_token(integration, lambda token: account_label(provider, token))
    except tokens.TokenError as exc:
        log.info("integration %s: no Business Profile label (%s)", integration.pk, exc.code)
        return
    if not label or label in integration.display_name:
        return
    integration.display_name = f"{integration.display_name} · {label}"[:255]
    Integration.objects.filter(pk=integration.pk).update(display_name=integration.display_name)


# The sync errors a broken grant causes ("Reconnect needed", a 401 after a refresh): a new grant
# fixes them. Others (an API not enabled, a quota, an outage) stay until a sync succeeds.
GRANT_ERRORS = {"reauth_required", "unauthorized"}


@receiver(signals.integration_connected, dispatch_uid="gbp.clear_grant_sync_error")
def clear_grant_sync_error(sender, integration, created, **kwargs):
    """After a reconnect, the sync error the broken grant caused is no longer true: the card
    stops saying "sync failing" and admin's needs-attention stops listing it. The time of the
    failed attempt (last_synced_at) and its history row are kept; the next sync resumes."""
    if created or not is_gbp(registry.find(integration.provider)):
        return
    last = (IntegrationEvent.objects.filter(integration=integration,
                                            kind=IntegrationEvent.Kind.SYNC)
            .order_by("-created_at", "-id").values_list("error_code", flat=True).first())
    if last not in GRANT_ERRORS:
        return
    cleared = Integration.objects.filter(
        pk=integration.pk, last_sync_status=Integration.SyncStatus.ERROR,
    ).update(last_sync_status=Integration.SyncStatus.NEVER, last_sync_message="")
    if cleared:
        integration.last_sync_status = Integration.SyncStatus.NEVER
        integration.last_sync_message = ""
        log.info("integration %s: reconnected; sync error %s cleared", integration.pk, last)


@receiver(signals.integration_connected, dispatch_uid="gbp.forget_queued_sync_on_connect")
@receiver(signals.integration_disconnected,
          dispatch_uid="gbp.forget_queued_sync_on_disconnect")
def forget_queued_sync(sender, integration, **kwargs):
    """A "Sync now" no worker started belongs to the grant before: after a reconnect or a
    disconnect it no longer shows as under way."""
    sync_state.forget_queued(integration.pk)
