"""State changes the token service makes: an integration that only its owner can fix."""

import logging

from django.db import transaction
from django.utils import timezone

from .. import notices
from ..errors import ErrorKind
from ..models import Integration, IntegrationEvent, OAuthCredential

log = logging.getLogger("integrations.tokens")


def mark_reauth_required(integration, code, message, *, clear_refresh_token=True) -> bool:
    """Move an active integration to `reauth_required`; True on the transition (told once).

    The conditional UPDATE makes the transition happen once even when several workers fail at
    the same moment, so the owner gets one notice and listeners one signal.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Integration.objects.filter(
            pk=integration.pk, status=Integration.Status.ACTIVE
        ).update(status=Integration.Status.REAUTH_REQUIRED, updated_at=now)
        updates = {"last_error_kind": ErrorKind.REAUTH, "last_error_code": code,
                   "last_error_message": message, "last_error_at": now, "updated_at": now}
        if clear_refresh_token:
            updates["refresh_token"] = None
        OAuthCredential.objects.filter(integration_id=integration.pk).update(**updates)
        if changed:
            IntegrationEvent.objects.record(integration.pk, IntegrationEvent.Kind.STATUS,
                                            ErrorKind.REAUTH, error_code=code, message=message)
            notices.reauth_required(integration, code, message)
    integration.status = Integration.Status.REAUTH_REQUIRED
    if changed:
        log.warning("integration %s (%s) needs re-authentication: %s", integration.pk,
                    integration.provider, code)
    return bool(changed)


def flag_undecryptable(integration) -> bool:
    """A credential no configured key decrypts: the user must reconnect.

    The ciphertext is kept (not cleared): restoring the missing key makes it readable again.
    """
    return mark_reauth_required(
        integration, "undecryptable",
        "The stored credential cannot be decrypted with the configured keys; reconnect the account.",
        clear_refresh_token=False,
    )
