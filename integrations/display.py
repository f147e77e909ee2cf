"""What users read about a connection: plain words, never a code, a trace or a token."""

import re

from django.utils import timezone

from .errors import ErrorKind
from .models import Integration, IntegrationEvent

REAUTH_WORDS = {
    "invalid_grant": "{provider} says our access was revoked or has expired.",
    "interaction_required": "{provider} wants you to sign in again.",
    "consent_required": "{provider} wants you to approve access again.",
    "login_required": "{provider} wants you to sign in again.",
    "invalid_scope": "The access you granted {provider} has changed.",
    "no_refresh_token": "{provider} did not grant lasting (offline) access.",
    "undecryptable": "We can no longer read the stored credentials for this connection.",
    "refresh_failing": "We have not been able to reach {provider} for several days.",
    "interrupted_refresh": ("A problem on our side interrupted renewing our access to {provider}, "
                            "and {provider} no longer accepts it. Sorry: this was not "
                            "something you did."),
}
REAUTH_DEFAULT = "This connection stopped working."

# A failed sync, by the code the consumer recorded on its sync event. The consumer's own
# message is operator text (API names, project numbers, console URLs): admin, logs and the
# history show it; users read these words.
SYNC_RETRY_WORDS = "{provider} was busy or unavailable at the last sync; the next sync will try again."
SYNC_DEFAULT_WORDS = "This account's data can't be synced right now; we've been told."
SYNC_PARTIAL_WORDS = ("Some of this account's data couldn't be synced; the rest is up to date. "
                      "We've been told.")
SYNC_PARTIAL_CODES = {"partial", "bad_data"}
SYNC_RETRY_CODES = re.compile(r"rate_limited|http_5\d\d|timeout|connection_error|request_error|"
                              r"temporarily_unavailable|server_error")


def reauth_reason(code: str, provider_name: str) -> str:
    """Why only the user can fix it, in plain words (never the provider's code)."""
    return REAUTH_WORDS.get(code, REAUTH_DEFAULT).format(provider=provider_name)


def last_sync_code(integration: Integration) -> str:
    """The error code of the latest sync (annotated by the integrations page, else read)."""
    code = getattr(integration, "last_sync_code", None)
    if code is None:
        code = (integration.events.filter(kind=IntegrationEvent.Kind.SYNC)
                .order_by("-created_at", "-id").values_list("error_code", flat=True).first())
    return code or ""


def sync_problem(code: str, provider_name: str) -> str:
    if SYNC_RETRY_CODES.fullmatch(code or ""):
        return SYNC_RETRY_WORDS.format(provider=provider_name)
    if code in SYNC_PARTIAL_CODES:
        return SYNC_PARTIAL_WORDS
    return SYNC_DEFAULT_WORDS


def problem(integration: Integration, provider_name: str) -> str:
    """The last problem, in words a user understands, with what to do about it ('' if none)."""
    cred = getattr(integration, "credential", None)
    code, kind = (cred.last_error_code, cred.last_error_kind) if cred else ("", "")
    if integration.status == Integration.Status.REAUTH_REQUIRED:
        return reauth_reason(code, provider_name) + " Reconnect to continue."
    if integration.status == Integration.Status.DISCONNECTED:
        return ""
    if kind == ErrorKind.OPERATOR:
        return ("There is a configuration problem on our side with "
                f"{provider_name}. Our team has been alerted; nothing for you to do.")
    if code:
        return (f"We had a temporary problem reaching {provider_name}; "
                "we will retry automatically.")
    if integration.last_sync_status == Integration.SyncStatus.ERROR:
        return sync_problem(last_sync_code(integration), provider_name)
    return ""


def sync_failing(integration: Integration) -> bool:
    """Connected, but the last sync failed (a badge of its own, not "needs reconnect")."""
    return (integration.status == Integration.Status.ACTIVE
            and integration.last_sync_status == Integration.SyncStatus.ERROR)


def scope_label(scope: str) -> str:
    """A granted scope, short: `https://www.googleapis.com/auth/business.manage` reads
    `business.manage`, `https://mail.google.com/` reads `mail.google.com`."""
    if "://" in scope:
        return scope.rstrip("/").rsplit("/", 1)[-1] or scope
    return scope


def token_health(integration: Integration) -> str:
    cred = getattr(integration, "credential", None)
    if integration.status != Integration.Status.ACTIVE or cred is None or cred.expires_at is None:
        return ""
    if cred.expires_at <= timezone.now():
        return "expired; renews on next use"
    return "valid"
