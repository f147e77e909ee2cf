"""A circuit breaker per provider: an outage is the provider's, not its users'.

When a provider's token endpoint fails transiently for many credentials in a row (it is down,
or our network is), asking it again for every credential only adds load to an outage and, worse,
counts the outage against each credential until the 3-day escalation tells every owner to
reconnect. So:

- closed (working): refreshes ask the provider. INTEGRATIONS_BREAKER_FAILURES transient failures
  in a row, across at least INTEGRATIONS_BREAKER_CREDENTIALS credentials, open it; any success
  resets the count.
- open: no refresh asks the provider; they fail at once as transient `provider_unavailable`,
  without counting against the credential (no failure count, no escalation clock) and cooling it
  down until the next probe. After INTEGRATIONS_BREAKER_OPEN_SECONDS one refresh may probe
  (one at a time, across processes); its success closes the breaker, its failure keeps it open
  twice as long (at most INTEGRATIONS_BREAKER_MAX_OPEN_SECONDS). So a provider down for days
  sees about one token request an hour from us.
- on recovery: the provider's integrations that were flagged `refresh_failing` (days of
  transient failures) but still hold their refresh token are made active again, and the
  escalation clock of every credential starts from the recovery.

Operators are told once per outage (an ERROR line when it opens, a WARNING when it closes;
health, metrics and admin show it). The state is one row per provider (`ProviderBreaker`), read
at most every few seconds per process, written only on failures and on the way back.
"""

import logging
import threading
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .conf import settings
from .errors import ErrorKind
from .models import Integration, IntegrationEvent, OAuthCredential, ProviderBreaker

log = logging.getLogger(__name__)
CACHE_SECONDS = 2.0
MAX_REMEMBERED = 50  # distinct failing credentials kept to decide an outage
PROBE_SECONDS = 60  # a probe that never reported back frees its slot after this
RECOVERABLE = "refresh_failing"  # the escalation of transient failures; its refresh token is kept

_cache: dict[str, tuple[float, ProviderBreaker | None]] = {}
_lock = threading.Lock()


class ProviderDown(Exception):
    kind = ErrorKind.TRANSIENT
    code = "provider_unavailable"

    def __init__(self, provider_id, retry_at):
        self.retry_at = retry_at
        self.message = (f"{provider_id} is failing for many accounts; it is not asked again "
                        f"before {retry_at:%H:%M:%S} (a probe first).")
        super().__init__(self.message)


def _row(provider_id) -> ProviderBreaker | None:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(provider_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    row = ProviderBreaker.objects.filter(pk=provider_id).first()
    with _lock:
        _cache[provider_id] = (time.monotonic(), row)
    return row


def forget(provider_id=None):
    with _lock:
        if provider_id is None:
            _cache.clear()
        else:
            _cache.pop(provider_id, None)


CLOSED, PROBE = "closed", "probe"


def allow(provider_id) -> str:
    """May a refresh ask the provider now? CLOSED (ask away), PROBE (the one probe of an open
    breaker: one attempt, and report its outcome), else ProviderDown."""
    row = _row(provider_id)
    if row is None or row.state == ProviderBreaker.State.CLOSED:
        return CLOSED
    now = timezone.now()
    if row.retry_at and row.retry_at > now:
        raise ProviderDown(provider_id, row.retry_at)
    taken = ProviderBreaker.objects.filter(
        pk=provider_id, state=ProviderBreaker.State.OPEN, retry_at__lte=now,
    ).exclude(probe_until__gt=now).update(probe_until=now + timedelta(seconds=PROBE_SECONDS))
    if not taken:
        forget(provider_id)
        raise ProviderDown(provider_id, row.retry_at or now)
    log.info("%s: probing after an outage", provider_id)
    return PROBE


def success(provider_id) -> None:
    """A refresh at this provider worked: reset its count; close it if it was open."""
    row = _row(provider_id)
    if row is None or (row.state == ProviderBreaker.State.CLOSED and not row.failures):
        return
    now = timezone.now()
    was_open = ProviderBreaker.objects.filter(
        pk=provider_id, state=ProviderBreaker.State.OPEN).update(
        state=ProviderBreaker.State.CLOSED, failures=0, failing_credentials=[], retry_at=None,
        probe_until=None, open_seconds=0, recovered_at=now)
    if not was_open:
        ProviderBreaker.objects.filter(pk=provider_id).update(failures=0, failing_credentials=[])
    forget(provider_id)
    if was_open:
        recovered = recover(provider_id)
        log.warning("%s answers again: refreshes resume (%s integration(s) flagged during the "
                    "outage made active again)", provider_id, recovered)


def failure(provider_id, credential_id, code) -> bool:
    """A refresh at this provider failed transiently. True if the failure is the provider's
    (the breaker is open, or this failure opened it): the caller does not hold it against the
    credential."""
    now = timezone.now()
    just_opened = False
    with transaction.atomic():
        row = _locked(provider_id)
        if row.state == ProviderBreaker.State.OPEN:  # a probe failed: stay open, longer
            row.open_seconds = min(max(row.open_seconds * 2, _base()), _max())
            row.retry_at, row.probe_until = now + timedelta(seconds=row.open_seconds), None
            row.last_error_code = code[:64]
            row.save()
            opened = True
        else:
            row.failures += 1
            seen = [c for c in row.failing_credentials if c != credential_id][-MAX_REMEMBERED:]
            row.failing_credentials = [*seen, credential_id]
            row.last_error_code = code[:64]
            opened = (row.failures >= settings.INTEGRATIONS_BREAKER_FAILURES
                      and len(row.failing_credentials) >= settings.INTEGRATIONS_BREAKER_CREDENTIALS)
            if opened:
                row.state, row.opened_at, row.open_seconds = ProviderBreaker.State.OPEN, now, _base()
                row.retry_at = now + timedelta(seconds=row.open_seconds)
                just_opened = True
            row.save()
    forget(provider_id)
    if just_opened:
        log.error("%s is failing for many accounts (%s transient failures in a row across %s "
                  "credentials, last %s): it is not asked again before a probe at %s; nobody is "
                  "asked to reconnect for it", provider_id, row.failures,
                  len(row.failing_credentials), code, row.retry_at.isoformat())
    return opened


def _locked(provider_id) -> ProviderBreaker:
    row = ProviderBreaker.objects.select_for_update().filter(pk=provider_id).first()
    if row is None:
        try:
            with transaction.atomic():
                ProviderBreaker.objects.create(provider=provider_id)
        except IntegrityError:
            pass  # created meanwhile
        row = ProviderBreaker.objects.select_for_update().get(pk=provider_id)
    return row


def _base() -> int:
    return max(1, int(settings.INTEGRATIONS_BREAKER_OPEN_SECONDS))


def _max() -> int:
    return max(_base(), int(settings.INTEGRATIONS_BREAKER_MAX_OPEN_SECONDS))


def retry_at(provider_id):
    """When an open breaker lets its next probe through (None when closed)."""
    row = _row(provider_id)
    return row.retry_at if row is not None and row.state == ProviderBreaker.State.OPEN else None


def is_open(provider_id) -> bool:
    row = _row(provider_id)
    return row is not None and row.state == ProviderBreaker.State.OPEN


def escalation_start(provider_id, failing_since):
    """Where a credential's 3-day escalation clock starts: its first failure, or the provider's
    last recovery if that came later (an outage is not the credential's)."""
    row = _row(provider_id)
    if row is not None and row.recovered_at and row.recovered_at > failing_since:
        return row.recovered_at
    return failing_since


def recover(provider_id) -> int:
    """Make active again this provider's integrations flagged `refresh_failing` that still hold
    their refresh token; their next refresh (the proactive run, or their next use) tells."""
    candidates = list(Integration.objects.filter(
        provider=provider_id, status=Integration.Status.REAUTH_REQUIRED,
        credential__last_error_code=RECOVERABLE, credential__refresh_token__isnull=False,
    ).values_list("pk", flat=True))
    if not candidates:
        return 0
    now = timezone.now()
    with transaction.atomic():
        ids = list(Integration.objects.filter(
            pk__in=candidates, status=Integration.Status.REAUTH_REQUIRED).values_list(
            "pk", flat=True))
        Integration.objects.filter(pk__in=ids).update(status=Integration.Status.ACTIVE,
                                                      updated_at=now)
        OAuthCredential.objects.filter(integration_id__in=ids).update(
            refresh_failures=0, failing_since=None, last_error_kind="", last_error_code="",
            last_error_message="", last_error_at=None, retry_after=None, updated_at=now)
        IntegrationEvent.objects.bulk_create([IntegrationEvent(
            integration_id=pk, created_at=now, kind=IntegrationEvent.Kind.STATUS,
            message=f"{provider_id} answers again: active again (its refresh token was kept)")
            for pk in ids])
    return len(ids)
