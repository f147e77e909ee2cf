"""What users read about a connection: plain words, never a code, a trace or a token.

The words are translated (`gettext_lazy` here, so the module can be imported before a language is
active): each is formatted in the language active when it is shown.
"""

import re

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _, pgettext

from .errors import ErrorKind
from .models import Integration, IntegrationEvent
from .providers import registry

REAUTH_WORDS = {
    "invalid_grant": _("{provider} says our access was revoked or has expired."),
    "interaction_required": _("{provider} wants you to sign in again."),
    "consent_required": _("{provider} wants you to approve access again."),
    "login_required": _("{provider} wants you to sign in again."),
    "invalid_scope": _("The access you granted {provider} has changed."),
    "no_refresh_token": _("{provider} did not grant lasting (offline) access."),
    "undecryptable": _("We can no longer read the stored credentials for this connection."),
    "refresh_failing": _("We have not been able to reach {provider} for several days."),
    "interrupted_refresh": _("A problem on our side interrupted renewing our access to {provider}, "
                             "and {provider} no longer accepts it. Sorry: this was not "
                             "something you did."),
}
REAUTH_DEFAULT = _("This connection stopped working.")

# A failed sync, by the code the consumer recorded on its sync event. The consumer's own
# message is operator text (API names, project numbers, console URLs): admin, logs and the
# history show it; users read these words.
SYNC_RETRY_WORDS = _("{provider} was busy or unavailable at the last sync; the next sync will "
                     "try again.")
SYNC_DEFAULT_WORDS = _("This account's data can't be synced right now; we've been told.")
SYNC_PARTIAL_WORDS = _("Some of this account's data couldn't be synced; the rest is up to date. "
                       "We've been told.")
SYNC_PARTIAL_CODES = {"partial", "bad_data"}
SYNC_RETRY_CODES = re.compile(r"rate_limited|http_5\d\d|timeout|connection_error|request_error|"
                              r"temporarily_unavailable|server_error")


# A mailbox that will not let a good grant in (integrations.mail), by the code of the latest
# `mail` event; its operator text (server, reply) is for admin and the logs.
MAIL_WORDS = {
    "imap_refused": _("{provider} refuses to let us read this mailbox (IMAP), although your "
                      "permission is still valid. IMAP may be turned off for this account (in "
                      "Microsoft 365, by an administrator), or the permission does not cover "
                      "mail."),
    "smtp_refused": _("{provider} refuses to let us send mail from this mailbox (SMTP), although "
                      "your permission is still valid. Sending with SMTP AUTH may be turned off "
                      "for this account (in Microsoft 365, by an administrator), or the "
                      "permission does not cover mail."),
    "mail_scope_missing": _("The permission you gave {provider} does not cover reading and "
                            "sending mail. Reconnect and allow mail access."),
}


def reauth_reason(code: str, provider_name: str) -> str:
    """Why only the user can fix it, in plain words (never the provider's code)."""
    return str(REAUTH_WORDS.get(code, REAUTH_DEFAULT)).format(provider=provider_name)


def last_sync_code(integration: Integration) -> str:
    """The error code of the latest sync (annotated by the integrations page, else read)."""
    code = getattr(integration, "last_sync_code", None)
    if code is None:
        code = (integration.events.filter(kind=IntegrationEvent.Kind.SYNC)
                .order_by("-created_at", "-id").values_list("error_code", flat=True).first())
    return code or ""


def sync_problem(code: str, provider_name: str) -> str:
    if SYNC_RETRY_CODES.fullmatch(code or ""):
        return str(SYNC_RETRY_WORDS).format(provider=provider_name)
    if code in SYNC_PARTIAL_CODES:
        return str(SYNC_PARTIAL_WORDS)
    return str(SYNC_DEFAULT_WORDS)


def last_mail_code(integration: Integration) -> str:
    """The error code of the latest mailbox login event ("" when it worked, or none was
    recorded): annotated by the integrations page, else read, for mail providers only."""
    code = getattr(integration, "last_mail_code", None)
    if code is None:
        provider = registry.find(integration.provider)
        if provider is None or not provider.mail:
            return ""
        code = (integration.events.filter(kind=IntegrationEvent.Kind.MAIL)
                .order_by("-created_at", "-id").values_list("error_code", flat=True).first())
    return code or ""


def mail_refused(integration: Integration) -> bool:
    """Connected, but its mailbox refuses our logins (a badge of its own)."""
    return (integration.status == Integration.Status.ACTIVE
            and last_mail_code(integration) in MAIL_WORDS)


def operator_words(provider_name: str) -> str:
    return gettext("There is a configuration problem on our side with {provider}. Our "
                   "team has been alerted; nothing for you to do.").format(provider=provider_name)


def transient_words(provider_name: str) -> str:
    return gettext("We had a temporary problem reaching {provider}; we will retry "
                   "automatically.").format(provider=provider_name)


def problem(integration: Integration, provider_name: str) -> str:
    """The last problem, in words a user understands, with what to do about it ('' if none)."""
    cred = getattr(integration, "credential", None)
    code, kind = (cred.last_error_code, cred.last_error_kind) if cred else ("", "")
    if integration.status == Integration.Status.REAUTH_REQUIRED:
        return gettext("{reason} Reconnect to continue.").format(
            reason=reauth_reason(code, provider_name))
    if integration.status == Integration.Status.DISCONNECTED:
        return ""
    if kind == ErrorKind.OPERATOR:
        return operator_words(provider_name)
    if code:
        return transient_words(provider_name)
    if mail_code := last_mail_code(integration):
        words = MAIL_WORDS.get(mail_code)
        return str(words).format(provider=provider_name) if words else operator_words(
            provider_name)
    if integration.last_sync_status == Integration.SyncStatus.ERROR:
        return sync_problem(last_sync_code(integration), provider_name)
    return ""


# Who must act on the problem `problem` words (the JSON API's `action`): the user, nobody but
# time, or the site's team (the words say "we've been told": a user may want to ask them).
RECONNECT, WAIT, CONTACT_SUPPORT = "reconnect", "wait", "contact_support"


def action(integration: Integration) -> str | None:
    """Who must act, by the same rules as `problem`: None when nothing is wrong."""
    cred = getattr(integration, "credential", None)
    code, kind = (cred.last_error_code, cred.last_error_kind) if cred else ("", "")
    if integration.status == Integration.Status.REAUTH_REQUIRED:
        return RECONNECT
    if integration.status == Integration.Status.DISCONNECTED:
        return None
    if kind == ErrorKind.OPERATOR:
        return CONTACT_SUPPORT
    if code:
        return WAIT
    if mail_code := last_mail_code(integration):
        return RECONNECT if mail_code == "mail_scope_missing" else CONTACT_SUPPORT
    if integration.last_sync_status == Integration.SyncStatus.ERROR:
        return WAIT if SYNC_RETRY_CODES.fullmatch(last_sync_code(integration)) else (
            CONTACT_SUPPORT)
    return None


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
        return pgettext("access token", "expired; renews on next use")
    # The integrations page compares this with the same translation to add when it renews.
    return pgettext("access token", "valid")
