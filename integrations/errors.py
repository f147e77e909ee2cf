"""The one vocabulary of failure: who can fix it.

- `reauth`: only the user can (invalid_grant, a missing refresh token, an undecryptable row...)
- `operator`: an operator must fix the client (invalid_client, a provider not configured...)
- `transient`: nobody needs to; try again later (timeouts, 5xx, 429, unreadable answers)

The OAuth client raises these; the token service stores the kind on the credential
(`OAuthCredential.last_error_kind`), and pages, admin, health and commands read it from there.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErrorKind(models.TextChoices):
    REAUTH = "reauth", _("Re-auth required")
    OPERATOR = "operator", _("Operator action needed")
    TRANSIENT = "transient", _("Transient failure")


# RFC 6749 section 5.2 codes (and the OpenID Connect ones) by who can fix them.
REAUTH_CODES = {"invalid_grant", "interaction_required", "consent_required", "login_required",
                "invalid_scope"}
OPERATOR_CODES = {"invalid_client", "unauthorized_client", "unsupported_grant_type",
                  "invalid_request"}
TRANSIENT_CODES = {"temporarily_unavailable", "server_error"}


class OAuthError(Exception):
    """A provider call that did not give us what we asked for. Carries a code and a message
    scrubbed of every secret sent in the request, never a token."""

    kind = ErrorKind.TRANSIENT

    def __init__(self, code: str, message: str = "", *, status: int | None = None,
                 retry_after: float | None = None):
        self.code = code
        self.message = message or code
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{code}: {self.message}")


class ReauthError(OAuthError):
    kind = ErrorKind.REAUTH


class OperatorError(OAuthError):
    kind = ErrorKind.OPERATOR


class TransientError(OAuthError):
    kind = ErrorKind.TRANSIENT


# A mailbox refusing a token the token service holds as good (integrations.mail): the grant
# works, but the mail server will not let it in (IMAP disabled, SMTP AUTH off, a token for the
# wrong resource or without the mail scope). Neither a re-auth nor our configuration.
MAILBOX_REFUSED = "mailbox_refused"


class MailError(Exception):
    """An IMAP or SMTP session that could not be had: `kind` says who can fix it (transient,
    operator, or MAILBOX_REFUSED), `code` what happened. Its text is ours: host, port and code,
    never a token, an XOAUTH2 string or a server's reply to one."""

    def __init__(self, integration_id, kind: str, code: str, message: str = ""):
        self.integration_id = integration_id
        self.kind = kind
        self.code = code
        self.message = message or code
        super().__init__(f"integration {integration_id}: {code}: {self.message}")
