"""One refresh: load, take the lease, ask the provider (bounded retries), persist or fail.

Nothing lost: a rotated refresh token is stored in the same statement as the access token; an
answer without a refresh token keeps the old one; a transient failure never erases a token.
"""

import logging
import time
import traceback
import uuid
from datetime import timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from .. import breaker, http, metrics, oauth_client, signals
from ..conf import settings
from ..errors import ErrorKind, OAuthError, OperatorError, ReauthError, TransientError
from ..models import Integration, IntegrationEvent, OAuthCredential
from ..providers import registry
from . import lease, sql
from .errors import ReauthRequired, RefreshFailed
from .states import flag_undecryptable, mark_reauth_required

log = logging.getLogger("integrations.tokens")


def load(integration) -> OAuthCredential:
    """The credential with its integration's current status, in one query."""
    return _usable(integration, sql.load(integration.pk))


def _usable(integration, cred) -> OAuthCredential:
    """The loaded credential, if its integration is active and a key decrypts it."""
    if cred is None:
        raise ReauthRequired(integration.pk, "no_credential", "No credential is stored.")
    integration.status = cred.integration_status
    if integration.status != Integration.Status.ACTIVE:
        raise ReauthRequired(integration.pk, cred.last_error_code or integration.status,
                             cred.last_error_message or f"The integration is {integration.status}.")
    if cred.is_undecryptable:
        flag_undecryptable(integration)
        raise ReauthRequired(integration.pk, "undecryptable", "The credential cannot be decrypted.")
    return cred


def check_refreshable(integration, cred):
    """A credential cooling down after a failure is not tried again yet."""
    if cred.in_cooldown():
        raise RefreshFailed(
            integration.pk, cred.last_error_code or "cooldown",
            f"Waiting until {cred.retry_after:%H:%M:%S} before trying again "
            f"(last error: {cred.last_error_message or cred.last_error_code}).",
            kind=cred.last_error_kind or ErrorKind.TRANSIENT,
            retry_after=(cred.retry_after - timezone.now()).total_seconds(),
        )


# The database or its connection gone: a run stops on these instead of blaming a credential.
INFRASTRUCTURE = (OperationalError, InterfaceError)


def durably(write, *, seconds, what, integration_id=None):
    """`write()`, tried again on a fresh connection with backoff while the database is gone
    (restarting, a full disk, a dropped connection), for up to `seconds`; then the error is
    raised. Inside a caller's transaction it cannot reconnect: one try."""
    label = f"integration {integration_id}" if integration_id is not None else "refresh"
    deadline = time.monotonic() + seconds
    attempt = 0
    while True:
        try:
            return write()
        except INFRASTRUCTURE as exc:
            attempt += 1
            if connection.in_atomic_block or time.monotonic() >= deadline:
                raise
            delay = min(0.1 * 2 ** attempt, 2.0)
            log.warning("%s: could not %s (%s, attempt %s); retrying on a fresh connection in "
                        "%.1f s", label, what, type(exc).__name__, attempt, delay)
            connection.close()
            time.sleep(delay)
UNEXPECTED = "An unexpected error stopped this refresh; it will be tried again after the cooldown."


def record_unexpected(integration, exc: BaseException):
    """Record an unforeseen exception against one integration as a transient failure (code
    `unexpected`), with the traceback in the log but not the exception's text: it may quote
    whatever the failing code held, tokens included."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("integration %s: unexpected %s while refreshing; traceback (message withheld):\n%s",
              integration.pk, type(exc).__name__, frames)
    cred = OAuthCredential.objects.filter(integration_id=integration.pk).only(
        "pk", "refresh_failures", "failing_since").first()
    if cred is not None:
        error = TransientError("unexpected", f"{UNEXPECTED} ({type(exc).__name__})")
        _record_failure(integration, cred, error, attempts=0, elapsed=0.0)


def refreshed_since(cred, since) -> bool:
    return cred.last_refreshed_at is not None and cred.last_refreshed_at >= since


def single_flight(integration, cred, satisfied) -> tuple[OAuthCredential, bool]:
    """Refresh under the lease unless `satisfied(credential)` holds once we may; returns
    (credential, whether this call refreshed)."""
    owner = uuid.uuid4().hex
    # Fast path: the lease is free and nobody wrote the credential since we read it (every
    # writer sets updated_at), so what we read is current and needs no re-read.
    if lease.acquire(cred, owner, unchanged=True):
        # What the statement that took the lease wrote, mirrored on what we read before it.
        cred.lease_previous, cred.lease_owner = cred.lease_owner, owner
        return _under_lease(integration, cred, owner, satisfied)
    cred, holding = lease.wait_for(integration, cred, owner, lambda: load(integration), satisfied)
    if not holding:
        return cred, False  # another worker refreshed it meanwhile
    return _under_lease(integration, None, owner, satisfied)  # re-read under the lease


def lease_first(integration, satisfied) -> tuple[OAuthCredential, bool]:
    """For callers that expect to refresh (forced, proactive): take the lease and read the
    credential in one statement, then check. If another holds the lease, wait for it as
    single_flight does."""
    now = timezone.now()
    owner = uuid.uuid4().hex
    cred = sql.load_leased(integration.pk, owner, now, lease.until(now))
    if cred is not None:
        return _under_lease(integration, cred, owner, satisfied, checked=False)
    cred = load(integration)
    if satisfied(cred):
        return cred, False
    check_refreshable(integration, cred)
    return single_flight(integration, cred, satisfied)


def _under_lease(integration, cred, owner, satisfied, *, checked=True):
    """Holding the lease: (re)check what `cred` says (read it first if None), refresh, and
    release the lease whatever happens (the token write releases it on success)."""
    released = False
    if cred is None:
        cred, checked = sql.load(integration.pk), False
    cred_pk = cred.pk if cred is not None else None
    lease.keeper.hold(cred_pk, owner)
    try:
        if not checked:
            cred = _usable(integration, cred)
            if satisfied(cred):
                return cred, False
            check_refreshable(integration, cred)
        cred, released = _refresh(integration, cred, owner)
        return cred, released
    except (ReauthRequired, RefreshFailed, *INFRASTRUCTURE):
        raise
    except Exception as exc:  # a bug or an answer nobody foresaw: this credential only
        record_unexpected(integration, exc)
        raise RefreshFailed(integration.pk, "unexpected", UNEXPECTED) from None
    finally:
        lease.keeper.drop(cred_pk, owner)
        if not released and cred_pk is not None:
            try:  # no lease held past a database restart: release it once the database is back
                durably(lambda: lease.release(cred_pk, owner), what="release the refresh lease",
                        seconds=settings.INTEGRATIONS_REFRESH_LOCK_SECONDS,
                        integration_id=integration.pk)
            except INFRASTRUCTURE:
                log.error("integration %s: the refresh lease could not be released; it lapses "
                          "in %s s", integration.pk, settings.INTEGRATIONS_REFRESH_LOCK_SECONDS)


def _refresh(integration, cred, owner) -> tuple[OAuthCredential, bool]:
    """Refresh under the lease: (credential, whether the lease was released with the write)."""
    provider = registry.find(integration.provider)
    if provider is None or not provider.configured:
        code = "unknown_provider" if provider is None else "provider_not_configured"
        error = OperatorError(code, f"Provider {integration.provider!r} is not configured "
                                    "(client id missing).")
        _fail(integration, cred, error, attempts=0, elapsed=0.0)
    if not cred.refresh_token:
        error = ReauthError(
            "no_refresh_token", "No refresh token is stored; reconnect to grant offline access.")
        _fail(integration, cred, error, attempts=0, elapsed=0.0)

    try:
        mode = breaker.allow(provider.id)
    except breaker.ProviderDown as down:
        _defer(integration, cred, down)
    started = time.monotonic()
    budget = settings.INTEGRATIONS_REFRESH_LOCK_SECONDS - settings.INTEGRATIONS_HTTP_TIMEOUT
    # A probe of a provider that was down asks once: one request tells whether it is back.
    attempts = 1 if mode == breaker.PROBE else settings.INTEGRATIONS_REFRESH_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            token = oauth_client.refresh(provider, cred.refresh_token)
        except TransientError as exc:
            delay = http.backoff_delay(attempt, exc.retry_after)
            out_of_time = time.monotonic() - started + delay > budget
            # A Retry-After longer than we may wait inside one call: stop now, cool down that long.
            told_to_wait = (exc.retry_after or 0) > settings.INTEGRATIONS_RETRY_AFTER_CAP_SECONDS
            if attempt == attempts or out_of_time or told_to_wait:
                _fail(integration, cred, exc, attempt, time.monotonic() - started)
            log.info("integration %s: transient %s on attempt %s, retrying in %.2fs",
                     integration.pk, exc.code, attempt, delay)
            http.wait(delay)
        except OAuthError as exc:
            breaker.success(provider.id)  # it answered: the provider itself works
            if exc.kind == ErrorKind.REAUTH and _refreshed_elsewhere(cred):
                return load(integration), False
            if exc.kind == ErrorKind.REAUTH and cred.lease_previous:
                exc = _interrupted(integration, exc)
            _fail(integration, cred, exc, attempt, time.monotonic() - started)
        else:
            return _persist(integration, cred, token, owner, attempt,
                            time.monotonic() - started), True
    raise AssertionError("unreachable")


def _interrupted(integration, exc) -> ReauthError:
    """The grant was refused right after an earlier refresh of ours never finished (its holder
    was killed between the provider's answer and our write, or stalled past its lease): the
    provider rotated the token and we lost it. The user must reconnect, but it is our incident,
    not their revocation: say so to them, and loudly to operators."""
    log.error("integration %s (%s): %s after an interrupted refresh of ours (a worker killed or "
              "stalled mid-refresh): the grant is lost; the owner is asked to reconnect",
              integration.pk, integration.provider, exc.code)
    return ReauthError("interrupted_refresh", f"{exc.code} right after an interrupted refresh "
                                              f"of ours: {exc.message}")


def _defer(integration, cred, down):
    """The provider is down for many accounts (its breaker is open): not asked, not held against
    this credential; it cools down until the provider's next probe."""
    now = timezone.now()
    OAuthCredential.objects.filter(pk=cred.pk).update(
        last_error_kind=ErrorKind.TRANSIENT, last_error_code=down.code,
        last_error_message=down.message, last_error_at=now, retry_after=down.retry_at,
        updated_at=now)
    raise RefreshFailed(integration.pk, down.code, down.message, kind=ErrorKind.TRANSIENT,
                        retry_after=max(0.0, (down.retry_at - now).total_seconds()))


def _refreshed_elsewhere(cred) -> bool:
    """A rejected refresh token may just have been rotated by another holder (a lapsed lease)."""
    current = OAuthCredential.objects.filter(pk=cred.pk).values_list(
        "last_refreshed_at", flat=True).first()
    return current is not None and cred.last_refreshed_at is not None and (
        current > cred.last_refreshed_at)


def healthy(now) -> dict:
    """A credential that just got new tokens: renewed now, no failure, no error, no cooldown."""
    return {"last_refreshed_at": now, "refresh_failures": 0, "failing_since": None,
            "last_error_kind": "", "last_error_code": "", "last_error_message": "",
            "last_error_at": None, "retry_after": None}


def expiry(token, now):
    seconds = token.expires_in if token.expires_in is not None else (
        settings.INTEGRATIONS_DEFAULT_EXPIRES_IN)
    return now + timedelta(seconds=max(0, seconds))


def _persist(integration, cred, token, owner, attempts, elapsed) -> OAuthCredential:
    """Access token, expiry and any rotated refresh token, with the history row, in one atomic
    write that also releases our lease if we still hold it."""
    now = timezone.now()
    rotated = bool(token.refresh_token) and token.refresh_token != cred.refresh_token
    updates = {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": expiry(token, now),
        **healthy(now),
        "updated_at": now,
    }
    if token.refresh_token:  # no refresh token in the answer: keep the one we have
        updates["refresh_token"] = token.refresh_token
    if token.scopes:
        updates["scopes"] = token.scopes
    event = {"integration_id": integration.pk, "created_at": now,
             "kind": IntegrationEvent.Kind.REFRESH, "outcome": IntegrationEvent.Outcome.OK,
             "error_code": "", "message": "", "duration_ms": int(elapsed * 1000),
             "attempts": attempts, "rotated": rotated}
    # One atomic write: the tokens, our lease released, the history row. If the lease lapsed
    # meanwhile (it should not: the refresh is bounded to fit in it), the tokens are written
    # all the same: a rotated refresh token must never be dropped. The provider has issued them
    # now, so a database that restarts or a disk that is full is waited out (the keeper goes on
    # renewing our lease) before they are given up.
    try:
        held = durably(lambda: sql.write_refresh(cred.pk, owner, updates, event),
                       what="store the new tokens", integration_id=integration.pk,
                       seconds=settings.INTEGRATIONS_PERSIST_RETRY_SECONDS)
    except INFRASTRUCTURE as exc:
        metrics.record_refresh(integration.provider, "lost", elapsed)
        log.critical("integration %s (%s): LOST GRANT: the provider issued new tokens but the "
                     "database refused them for %s s (%s); the next refresh will fail and the "
                     "owner must reconnect", integration.pk, integration.provider,
                     settings.INTEGRATIONS_PERSIST_RETRY_SECONDS, type(exc).__name__)
        raise
    if not held:
        log.error("integration %s: refresh lease lapsed during the refresh", integration.pk)
    try:  # the tokens are stored: a database failing now does not make this refresh a failure
        breaker.success(integration.provider)
    except INFRASTRUCTURE as exc:
        log.warning("integration %s: refreshed, but its provider's breaker could not be read "
                    "(%s); the next success resets it", integration.pk, type(exc).__name__)
    transaction.on_commit(lambda: signals.token_refreshed.send(
        sender=Integration, integration=integration, rotated=rotated))
    metrics.record_refresh(integration.provider, "ok", elapsed)
    log.info("integration %s (%s): token refreshed in %.0f ms, rotated=%s", integration.pk,
             integration.provider, elapsed * 1000, rotated)
    for name, value in updates.items():
        setattr(cred, name, value)
    return cred


def _record_failure(integration, cred, error: OAuthError, attempts, elapsed):
    """Count a failure that keeps the tokens and status, and cool down. Returns (cooldown
    seconds, failing since)."""
    now = timezone.now()
    wait = max(settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS, error.retry_after or 0)
    failing_since = cred.failing_since or now
    OAuthCredential.objects.filter(pk=cred.pk).update(
        refresh_failures=cred.refresh_failures + 1, failing_since=failing_since,
        last_error_kind=error.kind, last_error_code=error.code[:64],
        last_error_message=error.message, last_error_at=now,
        retry_after=now + timedelta(seconds=wait), updated_at=now,
    )
    IntegrationEvent.objects.record(
        integration.pk, IntegrationEvent.Kind.REFRESH, error.kind, error_code=error.code[:64],
        message=error.message, duration_ms=int(elapsed * 1000), attempts=attempts)
    metrics.record_refresh(integration.provider, str(error.kind), elapsed)
    return wait, failing_since


def _fail(integration, cred, error: OAuthError, attempts, elapsed):
    """Record a failed refresh and raise the error the caller acts on."""
    now = timezone.now()
    event = {"error_code": error.code[:64], "message": error.message,
             "duration_ms": int(elapsed * 1000), "attempts": attempts}
    if error.kind == ErrorKind.REAUTH:
        IntegrationEvent.objects.record(integration.pk, IntegrationEvent.Kind.REFRESH,
                                        ErrorKind.REAUTH, **event)
        metrics.record_refresh(integration.provider, ErrorKind.REAUTH.value, elapsed)
        OAuthCredential.objects.filter(pk=cred.pk).update(
            refresh_failures=cred.refresh_failures + 1, updated_at=now)
        mark_reauth_required(integration, error.code, error.message)
        raise ReauthRequired(integration.pk, error.code, error.message)

    if error.kind == ErrorKind.TRANSIENT and breaker.failure(integration.provider, cred.pk,
                                                             error.code):
        raise _outage(integration, cred, error, attempts, elapsed)
    wait, failing_since = _record_failure(integration, cred, error, attempts, elapsed)
    if error.kind == ErrorKind.OPERATOR:
        log.error("integration %s (%s): the OAuth client needs an operator: %s: %s",
                  integration.pk, integration.provider, error.code, error.message)
    else:
        log.warning("integration %s (%s): refresh failed after %s attempt(s): %s",
                    integration.pk, integration.provider, attempts, error.code)
        escalate_after = timedelta(seconds=settings.INTEGRATIONS_TRANSIENT_ESCALATION_SECONDS)
        if now - breaker.escalation_start(integration.provider, failing_since) > escalate_after:
            days = (now - failing_since).days
            message = (f"Refreshing has failed for {days} day(s) (last error: {error.code}); "
                       "reconnect the account.")
            mark_reauth_required(integration, "refresh_failing", message,
                                 clear_refresh_token=False)
            raise ReauthRequired(integration.pk, "refresh_failing", message)
    raise RefreshFailed(integration.pk, error.code, error.message, kind=error.kind,
                        retry_after=wait)


def _outage(integration, cred, error, attempts, elapsed) -> RefreshFailed:
    """A transient failure the provider's breaker takes as an outage: recorded in the history,
    not counted against the credential (no failure count, no escalation clock); the credential
    cools down until the provider's next probe."""
    now = timezone.now()
    retry_at = breaker.retry_at(integration.provider) or now
    OAuthCredential.objects.filter(pk=cred.pk).update(
        last_error_kind=error.kind, last_error_code=error.code[:64],
        last_error_message=error.message, last_error_at=now,
        retry_after=max(retry_at, now + timedelta(
            seconds=settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS)), updated_at=now)
    IntegrationEvent.objects.record(
        integration.pk, IntegrationEvent.Kind.REFRESH, error.kind, error_code=error.code[:64],
        message=f"{error.message} (the provider is failing for many accounts: not counted "
                "against this one)", duration_ms=int(elapsed * 1000), attempts=attempts)
    metrics.record_refresh(integration.provider, str(error.kind), elapsed)
    return RefreshFailed(integration.pk, error.code, error.message, kind=error.kind,
                         retry_after=max(0.0, (retry_at - now).total_seconds()))
