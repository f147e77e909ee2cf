"""The token service: the only code that writes credentials after the connect flow.

Consumers ask it for a fresh credential (`ensure_fresh`) and never touch token fields.
"""

import logging

from django.db import transaction
from django.utils import timezone

from . import notify
from .models import Integration, IntegrationEvent, OAuthCredential

log = logging.getLogger(__name__)

OPERATOR_ERROR_CODES = ("invalid_client", "unauthorized_client")


class TokenError(Exception):
    """Base of the token service's errors. Carries ids and codes, never a token."""

    def __init__(self, integration_id, code, message=""):
        self.integration_id = integration_id
        self.code = code
        self.message = message or code
        super().__init__(f"integration {integration_id}: {code}: {self.message}")


class ReauthRequired(TokenError):
    """Only the user can fix this: they must reconnect the account."""


class RefreshFailed(TokenError):
    """A refresh did not succeed this time (transient or operator-side); try again later."""

    def __init__(self, integration_id, code, message="", retry_after=None):
        self.retry_after = retry_after
        super().__init__(integration_id, code, message)


def record_event(integration_id, kind, outcome=IntegrationEvent.Outcome.OK, **fields):
    return IntegrationEvent.objects.create(
        integration_id=integration_id, kind=kind, outcome=outcome, **fields
    )


def mark_reauth_required(integration, code, message, *, clear_refresh_token=True) -> bool:
    """Move an active integration to `reauth_required`; True on the transition (told once).

    The conditional UPDATE makes the transition happen once even when several workers fail at
    the same moment, so the owner gets one email and listeners one signal.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Integration.objects.filter(
            pk=integration.pk, status=Integration.Status.ACTIVE
        ).update(status=Integration.Status.REAUTH_REQUIRED, updated_at=now)
        updates = {
            "last_error_code": code,
            "last_error_message": message,
            "last_error_at": now,
            "updated_at": now,
        }
        if clear_refresh_token:
            updates["refresh_token"] = None
        OAuthCredential.objects.filter(integration_id=integration.pk).update(**updates)
        if changed:
            record_event(
                integration.pk,
                IntegrationEvent.Kind.STATUS,
                IntegrationEvent.Outcome.REAUTH,
                error_code=code,
                message=message,
            )
            transaction.on_commit(lambda: notify.reauth_required(integration.pk, code, message))
    if changed:
        integration.status = Integration.Status.REAUTH_REQUIRED
        log.warning(
            "integration %s (%s) needs re-authentication: %s",
            integration.pk, integration.provider, code,
        )
    return bool(changed)


def flag_undecryptable(integration) -> bool:
    """A credential no configured key decrypts: the user must reconnect.

    The ciphertext is kept (not cleared): restoring the missing key makes it readable again.
    """
    return mark_reauth_required(
        integration,
        "undecryptable",
        "The stored credential cannot be decrypted with the configured keys; reconnect the account.",
        clear_refresh_token=False,
    )
