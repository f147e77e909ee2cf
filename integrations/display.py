"""What users read about a connection: plain words, never a code, a trace or a token."""

from django.utils import timezone

from .errors import ErrorKind
from .models import Integration

REAUTH_WORDS = {
    "invalid_grant": "{provider} says our access was revoked or has expired.",
    "interaction_required": "{provider} wants you to sign in again.",
    "consent_required": "{provider} wants you to approve access again.",
    "login_required": "{provider} wants you to sign in again.",
    "invalid_scope": "The access you granted {provider} has changed.",
    "no_refresh_token": "{provider} did not grant lasting (offline) access.",
    "undecryptable": "We can no longer read the stored credentials for this connection.",
    "refresh_failing": "We have not been able to reach {provider} for several days.",
}


def problem(integration: Integration, provider_name: str) -> str:
    """The last problem, in words a user understands, with what to do about it ('' if none)."""
    cred = getattr(integration, "credential", None)
    code, kind = (cred.last_error_code, cred.last_error_kind) if cred else ("", "")
    if integration.status == Integration.Status.REAUTH_REQUIRED:
        reason = REAUTH_WORDS.get(code, "This connection stopped working.")
        return reason.format(provider=provider_name) + " Reconnect to continue."
    if integration.status == Integration.Status.DISCONNECTED:
        return ""
    if kind == ErrorKind.OPERATOR:
        return ("There is a configuration problem on our side with "
                f"{provider_name}. Our team has been alerted; nothing for you to do.")
    if code:
        return (f"We had a temporary problem reaching {provider_name}; "
                "we will retry automatically.")
    if integration.last_sync_status == Integration.SyncStatus.ERROR:
        return integration.last_sync_message
    return ""


def token_health(integration: Integration) -> str:
    cred = getattr(integration, "credential", None)
    if integration.status != Integration.Status.ACTIVE or cred is None or cred.expires_at is None:
        return ""
    if cred.expires_at <= timezone.now():
        return "expired; renews on next use"
    return "valid"
