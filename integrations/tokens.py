"""The token service: the only code that writes credentials.

Consumers ask it for a fresh credential and never touch token fields:

    cred = ensure_fresh(integration)                     # valid for at least 5 minutes
    result = with_token(integration, lambda token: ...)  # one forced refresh + retry on a 401
    xoauth2_string(integration)                          # IMAP/SMTP SASL XOAUTH2

Guarantees (see shared/DESIGN.md): just-in-time and single-flight refresh, nothing lost, every
failure classified (re-auth / operator / transient), bounded effort, told once, secret.

Single flight is a lease on the credential row (`lease_owner`, `lease_until`) taken with one
conditional UPDATE: it works the same on PostgreSQL and SQLite, across threads, processes and
machines, and holds no database transaction open during the HTTP call. A live holder renews it
while its request is in flight; a killed holder's lease lapses after
INTEGRATIONS_REFRESH_LOCK_SECONDS.
"""

import logging
import random
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import notify, oauth_client, signals
from .models import Integration, IntegrationEvent, OAuthCredential
from .providers import registry

log = logging.getLogger(__name__)

OPERATOR_ERROR_CODES = ("invalid_client", "unauthorized_client", "unsupported_grant_type",
                        "invalid_request", "provider_not_configured", "unknown_provider")
Outcome = IntegrationEvent.Outcome


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
    """No fresh token this time (transient, or an operator must fix the client); try later."""

    def __init__(self, integration_id, code, message="", *, kind="transient", retry_after=None):
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(integration_id, code, message)


def default_buffer() -> timedelta:
    return timedelta(seconds=settings.INTEGRATIONS_REFRESH_BUFFER_SECONDS)


def record_event(integration_id, kind, outcome=Outcome.OK, **fields):
    return IntegrationEvent.objects.create(
        integration_id=integration_id, kind=kind, outcome=outcome, **fields
    )


# --- Public API -------------------------------------------------------------------------------

def ensure_fresh(integration, *, buffer: timedelta | None = None, force=False) -> OAuthCredential:
    """A credential whose access token is valid for at least `buffer` (refreshing if needed).

    `force` refreshes even a fresh token (after a 401), unless another caller refreshed it after
    this call began: then that token is returned without a second request to the provider.
    """
    buffer = default_buffer() if buffer is None else buffer
    since = timezone.now() if force else None
    cred = _load(integration)
    if not force and not cred.expires_within(buffer):
        return cred
    _check_refreshable(integration, cred)
    satisfied = (lambda c: _refreshed_since(c, since)) if force else (
        lambda c: not c.expires_within(buffer))
    return _refresh_single_flight(integration, cred, satisfied)[0]


def refresh_if_due(integration, *, within: timedelta, since) -> tuple[OAuthCredential, bool]:
    """Proactive refresh: refresh if the token expires within `within`, unless someone
    refreshed it at or after `since` (another copy of the same run). Returns (credential,
    whether this call refreshed it)."""
    cred = _load(integration)

    def satisfied(c):
        return _refreshed_since(c, since) or not c.expires_within(within)

    if satisfied(cred):
        return cred, False
    _check_refreshable(integration, cred)
    return _refresh_single_flight(integration, cred, satisfied)


def with_token(integration, call, *, buffer: timedelta | None = None):
    """Run `call(access_token)`; on a 401, refresh once (forced) and run it once more.

    A 401 is either a returned response with `status_code == 401` or a raised exception whose
    `status_code` (or `resp.status`, as googleapiclient's HttpError has) is 401.
    """
    cred = ensure_fresh(integration, buffer=buffer)
    try:
        result = call(cred.access_token)
    except Exception as exc:
        if _status_of(exc) != 401:
            raise
    else:
        if _status_of(result) != 401:
            return result
    log.info("integration %s: 401 from the API, refreshing once and retrying", integration.pk)
    cred = ensure_fresh(integration, force=True)
    return call(cred.access_token)


def xoauth2_string(integration) -> str:
    """SASL XOAUTH2 for IMAP/SMTP (Gmail, Microsoft 365): user=...^Aauth=Bearer ...^A^A."""
    provider = registry.find(integration.provider)
    if provider is None or not provider.mail:
        raise ValueError(f"provider {integration.provider!r} does not do mail")
    cred = ensure_fresh(integration)
    return f"user={integration.display_name}\x01auth=Bearer {cred.access_token}\x01\x01"


# --- Connect and disconnect (the only other writers of credentials) ---------------------------

def store_grant(user, provider, identity: dict, token: oauth_client.TokenResponse,
                scopes: list[str]):
    """Create or update the integration for this account with a new grant. Returns (row, created).

    One row per (user, provider, account): reconnecting updates it (back to active, counters and
    errors cleared) and keeps its history and synced data.
    """
    now = timezone.now()
    with transaction.atomic():
        integration, created = Integration.objects.get_or_create(
            user=user, provider=provider.id, external_id=identity["id"],
            defaults={"display_name": identity["name"]},
        )
        integration.display_name = identity["name"]
        integration.status = Integration.Status.ACTIVE
        integration.save()
        OAuthCredential.objects.update_or_create(
            integration=integration,
            defaults={
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
                "token_type": token.token_type,
                "expires_at": _expiry(token, now),
                "scopes": scopes,
                **_healthy(now),
                "lease_owner": "",
                "lease_until": None,
            },
        )
        kind = IntegrationEvent.Kind.CONNECTED if created else IntegrationEvent.Kind.RECONNECTED
        record_event(integration.pk, kind)
        transaction.on_commit(lambda: signals.integration_connected.send(
            sender=Integration, integration=integration, created=created))
    log.info("integration %s (%s) %s", integration.pk, provider.id,
             "connected" if created else "reconnected")
    return integration, created


def disconnect(integration) -> bool:
    """Revoke at the provider (best effort), wipe the tokens locally whatever it said."""
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
        record_event(integration.pk, IntegrationEvent.Kind.DISCONNECTED,
                     message="revoked at the provider" if revoked else "tokens wiped locally")
        transaction.on_commit(lambda: signals.integration_disconnected.send(
            sender=Integration, integration=integration))
    integration.status = Integration.Status.DISCONNECTED
    log.info("integration %s (%s) disconnected, revoked=%s", integration.pk,
             integration.provider, revoked)
    return revoked


def _shares_grant(integration, provider) -> bool:
    """Google revokes the whole grant of a client for an account, not one token: revoking for
    one integration would also cut off a sibling (Gmail and Business Profile on one account)."""
    siblings = Integration.objects.filter(
        user=integration.user_id, external_id=integration.external_id,
        status=Integration.Status.ACTIVE,
    ).exclude(pk=integration.pk).values_list("provider", flat=True)
    for provider_id in siblings:
        other = registry.find(provider_id)
        if other and (other.token_url, other.client_id) == (provider.token_url, provider.client_id):
            return True
    return False


# --- State changes ----------------------------------------------------------------------------

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
        updates = {"last_error_code": code, "last_error_message": message, "last_error_at": now,
                   "updated_at": now}
        if clear_refresh_token:
            updates["refresh_token"] = None
        OAuthCredential.objects.filter(integration_id=integration.pk).update(**updates)
        if changed:
            record_event(integration.pk, IntegrationEvent.Kind.STATUS, Outcome.REAUTH,
                         error_code=code, message=message)
            transaction.on_commit(lambda: notify.reauth_required(integration.pk, code, message))
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


# --- Internals --------------------------------------------------------------------------------

def _status_of(obj):
    status = getattr(obj, "status_code", None)
    if status is None and getattr(obj, "resp", None) is not None:
        status = getattr(obj.resp, "status", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def _load(integration) -> OAuthCredential:
    """The credential with its integration's current status, in one query."""
    try:
        cred = OAuthCredential.objects.annotate(integration_status=F("integration__status")).get(
            integration_id=integration.pk)
    except OAuthCredential.DoesNotExist:
        raise ReauthRequired(integration.pk, "no_credential", "No credential is stored.") from None
    integration.status = cred.integration_status
    if integration.status != Integration.Status.ACTIVE:
        raise ReauthRequired(integration.pk, cred.last_error_code or integration.status,
                             cred.last_error_message or f"The integration is {integration.status}.")
    if cred.is_undecryptable:
        flag_undecryptable(integration)
        raise ReauthRequired(integration.pk, "undecryptable", "The credential cannot be decrypted.")
    return cred


def _check_refreshable(integration, cred):
    if cred.in_cooldown():
        raise RefreshFailed(
            integration.pk, cred.last_error_code or "cooldown",
            f"Waiting until {cred.retry_after:%H:%M:%S} before trying again "
            f"(last error: {cred.last_error_message or cred.last_error_code}).",
            kind="operator" if cred.last_error_code in OPERATOR_ERROR_CODES else "transient",
            retry_after=(cred.retry_after - timezone.now()).total_seconds(),
        )


def _refreshed_since(cred, since) -> bool:
    return cred.last_refreshed_at is not None and cred.last_refreshed_at >= since


def _acquire(cred, owner, *, unchanged=False) -> bool:
    """Take the lease if it is free (or lapsed). With `unchanged`, only if nobody wrote the
    credential since we read it: then what we read is still current, no re-read needed."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.INTEGRATIONS_REFRESH_LOCK_SECONDS)
    rows = OAuthCredential.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=cred.pk)
    if unchanged:
        rows = rows.filter(updated_at=cred.updated_at)
    return rows.update(lease_owner=owner, lease_until=until) == 1


def _release(cred_pk, owner):
    OAuthCredential.objects.filter(pk=cred_pk, lease_owner=owner).update(
        lease_owner="", lease_until=None)


def _refresh_single_flight(integration, cred, satisfied) -> tuple[OAuthCredential, bool]:
    """Refresh under the lease unless `satisfied(credential)` holds once we may; returns
    (credential, whether this call refreshed)."""
    owner = uuid.uuid4().hex
    # Fast path: the lease is free and nobody wrote the credential since we read it (every
    # writer sets updated_at), so what we read is current and needs no re-read.
    fast = _acquire(cred, owner, unchanged=True)
    if not fast:
        cred, holding = _wait_for_lease(integration, cred, owner, satisfied)
        if not holding:
            return cred, False  # another worker refreshed it meanwhile
    released = False
    _keeper.hold(cred.pk, owner)
    try:
        if not fast:
            cred = _load(integration)  # re-read under the lease, and re-check
            if satisfied(cred):
                return cred, False
            _check_refreshable(integration, cred)
        cred, released = _refresh(integration, cred, owner)
        return cred, released
    finally:
        _keeper.drop(cred.pk, owner)
        if not released:
            _release(cred.pk, owner)


class _LeaseKeeper:
    """Keeps this process's leases alive while their refreshes are in flight.

    A request to the provider can outlive any timeout we set (a server trickling bytes, a stall
    somewhere between us and it; the load test saw 45-second requests). If the lease lapsed
    meanwhile, another worker would refresh with the same refresh token, and a strict provider
    revokes the whole family on that reuse. So one background thread per process renews every
    lease held longer than a third of its length; a killed process stops renewing and its leases
    lapse within INTEGRATIONS_REFRESH_LOCK_SECONDS, as before. Holding a lease costs a dict entry.
    """

    def __init__(self):
        self.held = {}
        self.lock = threading.Lock()
        self.thread = None

    def hold(self, cred_pk, owner):
        with self.lock:
            self.held[(cred_pk, owner)] = time.monotonic()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True, name="lease-keeper")
                self.thread.start()

    def drop(self, cred_pk, owner):
        with self.lock:
            self.held.pop((cred_pk, owner), None)

    def _run(self):
        while True:
            seconds = settings.INTEGRATIONS_REFRESH_LOCK_SECONDS
            time.sleep(min(1.0, seconds / 6))
            now = time.monotonic()
            with self.lock:
                due = [key for key, renewed in self.held.items() if now - renewed >= seconds / 3]
            if not due:
                continue
            try:
                until = timezone.now() + timedelta(seconds=seconds)
                for cred_pk, owner in due:
                    OAuthCredential.objects.filter(pk=cred_pk, lease_owner=owner).update(
                        lease_until=until)
                    with self.lock:
                        if (cred_pk, owner) in self.held:
                            self.held[(cred_pk, owner)] = now
            except Exception:  # renewing is best effort; the bounded refresh still applies
                log.exception("could not renew refresh leases")
            finally:
                connection.close()  # renewals are rare: hold no idle connection


_keeper = _LeaseKeeper()


def _wait_for_lease(integration, cred, owner, satisfied):
    """Wait (bounded) until we hold the lease, or until another holder's refresh satisfies us.
    Returns (credential, whether we hold the lease)."""
    deadline = time.monotonic() + settings.INTEGRATIONS_REFRESH_WAIT_SECONDS
    while not _acquire(cred, owner):
        if time.monotonic() > deadline:
            raise RefreshFailed(integration.pk, "lock_timeout",
                                "Another refresh of this credential did not finish in time.")
        _sleep(random.uniform(0.02, 0.08))
        cred = _load(integration)
        if satisfied(cred):
            return cred, False
    return cred, True


def _sleep(seconds: float):
    """Every wait of the token service goes through here (tests record the waits)."""
    time.sleep(seconds)


def backoff_delay(attempt: int, retry_after: float | None) -> float:
    """How long to wait before attempt+1: Retry-After if given, else exponential with jitter;
    capped either way. Shared by every retry loop that talks to a provider."""
    cap = settings.INTEGRATIONS_RETRY_AFTER_CAP_SECONDS
    if retry_after is not None:
        return min(retry_after, cap)
    base = settings.INTEGRATIONS_BACKOFF_BASE_SECONDS
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


def _refresh(integration, cred, owner) -> tuple[OAuthCredential, bool]:
    """Refresh under the lease: (credential, whether the lease was released with the write)."""
    provider = registry.find(integration.provider)
    if provider is None or not provider.configured:
        code = "unknown_provider" if provider is None else "provider_not_configured"
        error = oauth_client.OperatorError(code, f"Provider {integration.provider!r} is not "
                                                 "configured (client id missing).")
        _fail(integration, cred, error, attempts=0, elapsed=0.0)
    if not cred.refresh_token:
        error = oauth_client.ReauthError(
            "no_refresh_token", "No refresh token is stored; reconnect to grant offline access.")
        _fail(integration, cred, error, attempts=0, elapsed=0.0)

    started = time.monotonic()
    budget = settings.INTEGRATIONS_REFRESH_LOCK_SECONDS - settings.INTEGRATIONS_HTTP_TIMEOUT
    attempts = settings.INTEGRATIONS_REFRESH_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            token = oauth_client.refresh(provider, cred.refresh_token)
        except oauth_client.TransientError as exc:
            delay = backoff_delay(attempt, exc.retry_after)
            out_of_time = time.monotonic() - started + delay > budget
            # A Retry-After longer than we may wait inside one call: stop now, cool down that long.
            told_to_wait = (exc.retry_after or 0) > settings.INTEGRATIONS_RETRY_AFTER_CAP_SECONDS
            if attempt == attempts or out_of_time or told_to_wait:
                _fail(integration, cred, exc, attempt, time.monotonic() - started)
            log.info("integration %s: transient %s on attempt %s, retrying in %.2fs",
                     integration.pk, exc.code, attempt, delay)
            _sleep(delay)
        except oauth_client.OAuthError as exc:
            if exc.kind == "reauth" and _refreshed_elsewhere(cred):
                return _load(integration), False
            _fail(integration, cred, exc, attempt, time.monotonic() - started)
        else:
            return _persist(integration, cred, token, owner, attempt,
                            time.monotonic() - started), True
    raise AssertionError("unreachable")


def _refreshed_elsewhere(cred) -> bool:
    """A rejected refresh token may just have been rotated by another holder (a lapsed lease)."""
    current = OAuthCredential.objects.filter(pk=cred.pk).values_list(
        "last_refreshed_at", flat=True).first()
    return current is not None and cred.last_refreshed_at is not None and (
        current > cred.last_refreshed_at)


def _healthy(now) -> dict:
    """A credential that just got new tokens: renewed now, no failure, no error, no cooldown."""
    return {"last_refreshed_at": now, "refresh_failures": 0, "failing_since": None,
            "last_error_code": "", "last_error_message": "", "last_error_at": None,
            "retry_after": None}


def _expiry(token, now):
    seconds = token.expires_in if token.expires_in is not None else (
        settings.INTEGRATIONS_DEFAULT_EXPIRES_IN)
    return now + timedelta(seconds=max(0, seconds))


def _persist(integration, cred, token, owner, attempts, elapsed) -> OAuthCredential:
    """Access token, expiry and any rotated refresh token, in one transaction (which also
    releases our lease, if we still hold it)."""
    now = timezone.now()
    rotated = bool(token.refresh_token) and token.refresh_token != cred.refresh_token
    updates = {
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_at": _expiry(token, now),
        **_healthy(now),
        "updated_at": now,
    }
    if token.refresh_token:  # no refresh token in the answer: keep the one we have
        updates["refresh_token"] = token.refresh_token
    if token.scopes:
        updates["scopes"] = token.scopes
    with transaction.atomic():
        # The write also releases our lease. If the lease lapsed meanwhile (it should not: the
        # refresh is bounded to fit in it), the tokens are written all the same: a rotated
        # refresh token must never be dropped.
        row = OAuthCredential.objects.filter(pk=cred.pk)
        if not row.filter(lease_owner=owner).update(**updates, lease_owner="", lease_until=None):
            log.error("integration %s: refresh lease lapsed during the refresh", integration.pk)
            row.update(**updates)
        record_event(integration.pk, IntegrationEvent.Kind.REFRESH, Outcome.OK,
                     duration_ms=int(elapsed * 1000), attempts=attempts, rotated=rotated)
        transaction.on_commit(lambda: signals.token_refreshed.send(
            sender=Integration, integration=integration, rotated=rotated))
    log.info("integration %s (%s): token refreshed in %.0f ms, rotated=%s", integration.pk,
             integration.provider, elapsed * 1000, rotated)
    for name, value in updates.items():
        setattr(cred, name, value)
    return cred


def _fail(integration, cred, error: oauth_client.OAuthError, attempts, elapsed):
    """Record a failed refresh and raise the error the caller acts on."""
    now = timezone.now()
    event = {"error_code": error.code[:64], "message": error.message,
             "duration_ms": int(elapsed * 1000), "attempts": attempts}
    if error.kind == "reauth":
        record_event(integration.pk, IntegrationEvent.Kind.REFRESH, Outcome.REAUTH, **event)
        OAuthCredential.objects.filter(pk=cred.pk).update(
            refresh_failures=cred.refresh_failures + 1, updated_at=now)
        mark_reauth_required(integration, error.code, error.message)
        raise ReauthRequired(integration.pk, error.code, error.message)

    cooldown = settings.INTEGRATIONS_REFRESH_COOLDOWN_SECONDS
    wait = max(cooldown, error.retry_after or 0)
    failing_since = cred.failing_since or now
    OAuthCredential.objects.filter(pk=cred.pk).update(
        refresh_failures=cred.refresh_failures + 1, failing_since=failing_since,
        last_error_code=error.code[:64], last_error_message=error.message, last_error_at=now,
        retry_after=now + timedelta(seconds=wait), updated_at=now,
    )
    outcome = Outcome.OPERATOR if error.kind == "operator" else Outcome.TRANSIENT
    record_event(integration.pk, IntegrationEvent.Kind.REFRESH, outcome, **event)
    if error.kind == "operator":
        log.error("integration %s (%s): the OAuth client needs an operator: %s: %s",
                  integration.pk, integration.provider, error.code, error.message)
    else:
        log.warning("integration %s (%s): refresh failed after %s attempt(s): %s",
                    integration.pk, integration.provider, attempts, error.code)
        escalate_after = timedelta(seconds=settings.INTEGRATIONS_TRANSIENT_ESCALATION_SECONDS)
        if now - failing_since > escalate_after:
            days = (now - failing_since).days
            message = (f"Refreshing has failed for {days} day(s) (last error: {error.code}); "
                       "reconnect the account.")
            mark_reauth_required(integration, "refresh_failing", message,
                                 clear_refresh_token=False)
            raise ReauthRequired(integration.pk, "refresh_failing", message)
    raise RefreshFailed(integration.pk, error.code, error.message, kind=error.kind,
                        retry_after=wait)
