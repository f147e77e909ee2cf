"""The token service: the only code that writes credentials.

Consumers ask it for a fresh credential and never touch token fields:

    cred = ensure_fresh(integration)                     # valid for at least 5 minutes
    result = with_token(integration, lambda token: ...)  # one forced refresh + retry on a 401
    holder = TokenHolder(integration)                    # with_token for many calls: read once
    xoauth2_string(integration)                          # IMAP/SMTP SASL XOAUTH2

Guarantees (docs/architecture.md): just-in-time and single-flight refresh, nothing lost, every
failure classified (re-auth / operator / transient), bounded effort, told once, secret.

One job per module: `errors` (what callers catch), `api` (what consumers call), `refresh` (one
refresh: load, attempts, persist or fail), `lease` (single flight), `states` (re-auth
transitions), `grants` (connect and disconnect).
"""

from .api import (TokenHolder, default_buffer, ensure_fresh, refresh_if_due, with_token,
                  xoauth2_string)
from .errors import ReauthRequired, RefreshFailed, TokenError
from .grants import disconnect, store_grant
from .refresh import INFRASTRUCTURE, durably, record_unexpected
from .states import flag_undecryptable, mark_reauth_required

__all__ = [
    "INFRASTRUCTURE", "ReauthRequired", "RefreshFailed", "TokenError", "TokenHolder",
    "default_buffer",
    "disconnect", "durably", "ensure_fresh", "flag_undecryptable", "mark_reauth_required",
    "record_unexpected", "refresh_if_due", "store_grant", "with_token", "xoauth2_string",
]
