"""What consumers call: a fresh credential, a call with one retry on a 401, an XOAUTH2 string."""

import logging
import threading
import time
from datetime import timedelta

from django.utils import timezone

from .. import clock
from ..conf import settings
from ..errors import ErrorKind
from ..models import OAuthCredential
from ..providers import registry
from .errors import RefreshFailed
from .refresh import check_refreshable, lease_first, load, refreshed_since, single_flight

log = logging.getLogger("integrations.tokens")


def default_buffer() -> timedelta:
    return timedelta(seconds=settings.INTEGRATIONS_REFRESH_BUFFER_SECONDS)


def ensure_fresh(integration, *, buffer: timedelta | None = None, force=False) -> OAuthCredential:
    """A credential whose access token is valid for at least `buffer` (refreshing if needed).

    `force` refreshes even a fresh token (after a 401), unless another caller refreshed it after
    this call began: then that token is returned without a second request to the provider.
    """
    buffer = buffer_for(integration) if buffer is None else buffer
    _clock_agrees(integration)
    if force:
        since = timezone.now()
        return lease_first(integration, lambda c: refreshed_since(c, since))[0]
    cred = load(integration)
    if not cred.expires_within(buffer):
        return cred
    check_refreshable(integration, cred)
    return single_flight(integration, cred, lambda c: not c.expires_within(buffer))[0]


def buffer_for(integration) -> timedelta:
    """The just-in-time window: the provider's own, else INTEGRATIONS_REFRESH_BUFFER_SECONDS."""
    provider = registry.find(integration.provider)
    if provider is not None and provider.refresh_buffer_seconds:
        return timedelta(seconds=provider.refresh_buffer_seconds)
    return default_buffer()


def refresh_if_due(integration, *, within: timedelta, since,
                   idle_before=None) -> tuple[OAuthCredential, bool]:
    """Proactive refresh: refresh if the token expires within `within`, or (with `idle_before`)
    if it was last refreshed before then, unless someone refreshed it at or after `since`
    (another copy of the same run). Returns (credential, whether this call refreshed it)."""
    def satisfied(c):
        idle = idle_before is not None and (
            c.last_refreshed_at is None or c.last_refreshed_at < idle_before)
        return refreshed_since(c, since) or not (c.expires_within(within) or idle)

    _clock_agrees(integration)
    return lease_first(integration, satisfied)


def _clock_agrees(integration):
    """No token is handed out or refreshed by a process whose clock is off (clock.py)."""
    try:
        clock.check()
    except clock.ClockSkew as exc:
        raise RefreshFailed(integration.pk, exc.code, exc.message, kind=ErrorKind.OPERATOR,
                            retry_after=clock.CHECK_EVERY_SECONDS) from None


def with_token(integration, call, *, buffer: timedelta | None = None):
    """Run `call(access_token)`; on a 401, refresh once (forced) and run it once more.

    A 401 is either a returned response with `status_code == 401` or a raised exception whose
    `status_code` (or `resp.status`, as googleapiclient's HttpError has) is 401.
    """
    return TokenHolder(integration, buffer=buffer).call(call)


class TokenHolder:
    """`with_token` for a run of many calls (a sync's thousand, on a pool's threads): the
    credential is read once and used while it stays fresh, and read again when it comes within
    the buffer, after RECHECK_SECONDS (a disconnect or a re-auth flag shows within that), or
    after a 401. Reading it per call cost about a millisecond of CPU each (a query and two
    decryptions), a quarter of what a sync spends on a call. Safe to share between threads."""

    RECHECK_SECONDS = 30.0

    def __init__(self, integration, *, buffer: timedelta | None = None):
        self.integration = integration
        self.buffer = buffer_for(integration) if buffer is None else buffer
        self._cred = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            cred = self._cred
            if (cred is None or time.monotonic() - self._read_at > self.RECHECK_SECONDS
                    or cred.expires_within(self.buffer)):
                cred = self._keep(ensure_fresh(self.integration, buffer=self.buffer))
            return cred.access_token

    def call(self, call):
        """`call(access_token)`; on a 401, the stored token if another caller has replaced
        the one refused meanwhile, else one forced refresh; then one more run."""
        token = self.token()
        try:
            result = call(token)
        except Exception as exc:
            if _status_of(exc) != 401:
                raise
        else:
            if _status_of(result) != 401:
                return result
        log.info("integration %s: 401 from the API, refreshing once and retrying",
                 self.integration.pk)
        with self._lock:
            cred = self._keep(ensure_fresh(self.integration, buffer=self.buffer))
            if cred.access_token == token:
                cred = self._keep(ensure_fresh(self.integration, force=True))
        return call(cred.access_token)

    def _keep(self, cred):
        self._cred, self._read_at = cred, time.monotonic()
        return cred


def xoauth2_string(integration) -> str:
    """SASL XOAUTH2 for IMAP/SMTP (Gmail, Microsoft 365): user=...^Aauth=Bearer ...^A^A.
    `integrations.mail` gives logged-in IMAP and SMTP sessions instead (TLS, timeouts, one
    refresh on a refusal)."""
    provider = registry.find(integration.provider)
    if provider is None or not provider.mail:
        raise ValueError(f"provider {integration.provider!r} does not do mail")
    cred = ensure_fresh(integration)
    user = getattr(integration, provider.mail_user_field, "") or integration.display_name
    return f"user={user}\x01auth=Bearer {cred.access_token}\x01\x01"


def _status_of(obj):
    status = getattr(obj, "status_code", None)
    if status is None and getattr(obj, "resp", None) is not None:
        status = getattr(obj.resp, "status", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None
