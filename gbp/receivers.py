"""Signal receivers: the core tells us about connections; we never hook into its views."""

import logging

from django.dispatch import receiver

from integrations import signals, tokens
from integrations.models import Integration
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


# A reconnect clears the sync error the broken grant caused: the core does it for every
# provider (integrations.tokens.grants.store_grant).


@receiver(signals.integration_connected, dispatch_uid="gbp.forget_queued_sync_on_connect")
@receiver(signals.integration_disconnected,
          dispatch_uid="gbp.forget_queued_sync_on_disconnect")
def forget_queued_sync(sender, integration, **kwargs):
    """A "Sync now" no worker started belongs to the grant before: after a reconnect or a
    disconnect it no longer shows as under way."""
    sync_state.forget_queued(integration.pk)
