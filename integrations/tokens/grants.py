"""Connect and disconnect: the only writers of credentials besides a refresh."""

import logging

from django.db import transaction
from django.utils import timezone

from .. import oauth_client, signals
from ..models import Integration, IntegrationEvent, OAuthCredential
from ..providers import registry
from .refresh import expiry, healthy

log = logging.getLogger("integrations.tokens")

# The sync errors a broken grant causes, whichever app syncs ("Reconnect needed", a 401 after a
# refresh): a new grant fixes them. Others (an API not enabled, a quota, an outage) stay until a
# sync succeeds.
GRANT_SYNC_ERRORS = {"reauth_required", "unauthorized"}


def store_grant(owner, provider, identity: dict, token: oauth_client.TokenResponse,
                scopes: list[str], *, user=None):
    """Create or update `owner`'s integration for this account with a new grant, connected by
    `user` (the owner itself when owners are users). Returns (row, created).

    One row per (owner, provider, account): reconnecting updates it (back to active, counters and
    errors cleared, `connected_by` the user whose consent gave the new grant) and keeps its
    history and synced data. A sync error the broken grant caused
    is cleared too (the card stops saying "sync failing", admin stops listing it); the failed
    sync's time and its history row are kept, and the next sync resumes.
    """
    now = timezone.now()
    cleared = ""
    with transaction.atomic():
        user = user if user is not None else owner
        integration, created = Integration.objects.get_or_create(
            owner=owner, provider=provider.id, external_id=identity["id"],
            defaults={"display_name": identity["name"], "connected_by": user},
        )
        integration.display_name = identity["name"]
        integration.status = Integration.Status.ACTIVE
        integration.connected_by = user
        fields = ["display_name", "status", "connected_by", "updated_at"]
        if not created and integration.last_sync_status == Integration.SyncStatus.ERROR:
            cleared = _grant_sync_error(integration)
            if cleared:
                integration.last_sync_status = Integration.SyncStatus.NEVER
                integration.last_sync_message = ""
                fields += ["last_sync_status", "last_sync_message"]
        integration.save(update_fields=fields)  # not the sync's other columns, read above
        OAuthCredential.objects.update_or_create(
            integration=integration,
            defaults={
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
                "token_type": token.token_type,
                "expires_at": expiry(token, now),
                "scopes": scopes,
                **healthy(now),
                "lease_owner": "",
                "lease_until": None,
            },
        )
        kind = IntegrationEvent.Kind.CONNECTED if created else IntegrationEvent.Kind.RECONNECTED
        IntegrationEvent.objects.record(integration.pk, kind)
        transaction.on_commit(lambda: signals.integration_connected.send(
            sender=Integration, integration=integration, created=created,
            owner=integration.owner, user=user))
    log.info("integration %s (%s) %s", integration.pk, provider.id,
             "connected" if created else "reconnected")
    if cleared:
        log.info("integration %s: reconnected; sync error %s cleared", integration.pk, cleared)
    return integration, created


def _grant_sync_error(integration) -> str:
    """The error code of the integration's last sync if the broken grant caused it, else ""."""
    last = (IntegrationEvent.objects.filter(integration=integration,
                                            kind=IntegrationEvent.Kind.SYNC)
            .order_by("-created_at", "-id").values_list("error_code", flat=True).first())
    return last if last in GRANT_SYNC_ERRORS else ""


def disconnect(integration, *, user=None) -> bool:
    """Revoke at the provider (best effort), wipe the tokens locally whatever it said. `user`:
    who did it (the signal carries it; None for an operator or a command)."""
    cred = OAuthCredential.objects.filter(integration=integration).first()
    provider = registry.find(integration.provider)
    revoked = False
    if cred and provider and provider.revoke_url and not cred.is_undecryptable and not (
        _shares_grant(integration, provider)
    ):
        token, hint = (cred.refresh_token, "refresh_token") if cred.refresh_token else (
            cred.access_token, "access_token")
        if token:
            revoked = oauth_client.revoke(provider, token, hint)
    now = timezone.now()
    with transaction.atomic():
        OAuthCredential.objects.filter(integration=integration).update(
            access_token=None, refresh_token=None, expires_at=None, lease_owner="",
            lease_until=None, retry_after=None, updated_at=now,
        )
        Integration.objects.filter(pk=integration.pk).update(
            status=Integration.Status.DISCONNECTED, updated_at=now)
        IntegrationEvent.objects.record(
            integration.pk, IntegrationEvent.Kind.DISCONNECTED,
            message="revoked at the provider" if revoked else "tokens wiped locally")
        transaction.on_commit(lambda: signals.integration_disconnected.send(
            sender=Integration, integration=integration, owner=integration.owner, user=user))
    integration.status = Integration.Status.DISCONNECTED
    log.info("integration %s (%s) disconnected, revoked=%s", integration.pk,
             integration.provider, revoked)
    return revoked


def _shares_grant(integration, provider) -> bool:
    """Google revokes the whole grant of a client for an account, not one token: revoking for
    one integration would also cut off a sibling (Gmail and Business Profile on one account)."""
    siblings = Integration.objects.filter(
        owner=integration.owner_id, external_id=integration.external_id,
        status=Integration.Status.ACTIVE,
    ).exclude(pk=integration.pk).values_list("provider", flat=True)
    for provider_id in siblings:
        other = registry.find(provider_id)
        if other and (other.token_url, other.client_id) == (provider.token_url, provider.client_id):
            return True
    return False
