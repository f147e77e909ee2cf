"""The sync's state row (GbpSyncState): its lease, its progress, and the "Sync now" throttle.

The throttle is kept by account too (GbpSyncThrottle: owner, provider, account id): a click on
an integration whose account was clicked on within the interval, through an integration since
removed, is refused like a second click on the same one, so removing an integration and
connecting the same account again does not reset it.

Every change that must be decided once is one conditional UPDATE (like the token service's
refresh lease): it works the same on PostgreSQL and SQLite, across threads, processes and
machines, and holds no transaction open while the sync talks to Google.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import Integration

from .conf import settings
from .models import GbpSyncState, GbpSyncThrottle

Status = GbpSyncState.Status
RESUMABLE_FOR = timedelta(days=1)  # a pause older than this starts over


def pickup_window() -> timedelta:
    """How long a queued "Sync now" may wait for a worker before it counts as not picked up."""
    return timedelta(seconds=settings.GBP_SYNC_PICKUP_SECONDS)


def get(integration_id) -> GbpSyncState:
    state = GbpSyncState.objects.filter(integration_id=integration_id).first()
    if state is None:
        try:
            with transaction.atomic():
                state = GbpSyncState.objects.create(integration_id=integration_id)
        except IntegrityError:  # created meanwhile by another process
            state = GbpSyncState.objects.get(integration_id=integration_id)
    return state


def _account(integration_id) -> dict | None:
    """The account an integration connects: its owner, provider and account id."""
    return Integration.objects.filter(pk=integration_id).values(
        "owner_id", "provider", "external_id").first()


def _last_request_elsewhere(account, integration_id):
    """The account's last "Sync now" if it was made on another integration than this one (one
    since removed), else None."""
    if account is None:
        return None
    row = GbpSyncThrottle.objects.filter(**account).values_list(
        "requested_at", "integration_id").first()
    return row[0] if row and row[1] != integration_id else None


def _remember_request(account, integration_id, when):
    if account is not None:  # one statement, whoever wrote the row before
        GbpSyncThrottle.objects.bulk_create(
            [GbpSyncThrottle(**account, integration_id=integration_id, requested_at=when)],
            update_conflicts=True, unique_fields=["owner", "provider", "external_id"],
            update_fields=["requested_at", "integration"])


def _free(now):
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def acquire(integration_id, owner) -> GbpSyncState | None:
    """Take the sync lease; None if another sync of this integration holds it. A paused run
    (recent enough) is resumed: its start and finished locations are kept."""
    state = get(integration_id)
    now = timezone.now()
    until = now + timedelta(seconds=settings.GBP_SYNC_LEASE_SECONDS)
    resume = (state.status == Status.PAUSED and state.started_at is not None
              and state.started_at > now - RESUMABLE_FOR)
    fields = {"lease_owner": owner, "lease_until": until, "status": Status.RUNNING,
              "resume_at": None}
    if not resume:
        fields.update(started_at=now, done_locations=[], locations_done=0, locations_total=0)
    if not GbpSyncState.objects.filter(_free(now), pk=integration_id).update(**fields):
        return None
    state.refresh_from_db()
    return state


def renew(integration_id, owner):
    until = timezone.now() + timedelta(seconds=settings.GBP_SYNC_LEASE_SECONDS)
    GbpSyncState.objects.filter(pk=integration_id, lease_owner=owner).update(lease_until=until)


def progress(integration_id, owner, done, total):
    until = timezone.now() + timedelta(seconds=settings.GBP_SYNC_LEASE_SECONDS)
    GbpSyncState.objects.filter(pk=integration_id, lease_owner=owner).update(
        locations_done=done, locations_total=total, lease_until=until)


def finish(integration_id, owner, *, ok, error_code, started_at, summary=None):
    fields = {"status": Status.IDLE, "lease_owner": "", "lease_until": None,
              "finished_at": timezone.now(), "last_error_code": error_code,
              "done_locations": [], "resume_at": None}
    if ok:
        fields["last_complete_started_at"] = started_at
        fields["last_summary"] = summary or {}
    GbpSyncState.objects.filter(pk=integration_id, lease_owner=owner).update(**fields)


def release(integration_id, owner):
    """Give the lease up if this owner still holds it (a sync that ended without finish() or
    pause(), on an error below us): the next sync need not wait for it to lapse."""
    GbpSyncState.objects.filter(pk=integration_id, lease_owner=owner).update(
        status=Status.IDLE, lease_owner="", lease_until=None)


def pause(integration_id, owner, *, resume_in, done_locations, done, total):
    GbpSyncState.objects.filter(pk=integration_id, lease_owner=owner).update(
        status=Status.PAUSED, lease_owner="", lease_until=None,
        resume_at=timezone.now() + timedelta(seconds=resume_in),
        done_locations=sorted(done_locations), locations_done=done, locations_total=total)


def request_now(integration_id) -> tuple[bool, GbpSyncState]:
    """"Sync now": (True, state) if this click may start a sync, else (False, state) when a
    sync is under way or the last click was less than GBP_SYNC_NOW_MIN_INTERVAL ago. A click
    that no worker picked up within the pickup window does not hold the throttle: nothing ran,
    so the user may try again at once."""
    state = get(integration_id)
    now = timezone.now()
    if is_syncing(state, now):
        return False, state
    since = now - timedelta(seconds=settings.GBP_SYNC_NOW_MIN_INTERVAL)
    account = _account(integration_id)
    last = _last_request_elsewhere(account, integration_id)
    if last is not None and last > since and (state.requested_at is None
                                              or last > state.requested_at):
        # The account was synced on request moments ago, through an integration since removed:
        # that click holds the throttle here too (and the page says until when).
        GbpSyncState.objects.filter(Q(requested_at__isnull=True) | Q(requested_at__lt=last),
                                    pk=integration_id).update(requested_at=last)
        state.refresh_from_db()
        return False, state
    unclaimed = Q(status=Status.QUEUED, requested_at__lte=now - pickup_window())
    allowed = Q(requested_at__isnull=True) | Q(requested_at__lte=since) | unclaimed
    taken = GbpSyncState.objects.filter(allowed, _free(now), pk=integration_id).update(
        requested_at=now, status=Status.QUEUED)
    if taken:
        _remember_request(account, integration_id, now)
    state.refresh_from_db()
    return bool(taken), state


def unqueue(integration_id):
    """The sync could not be queued after all: show nothing under way (the throttle stays)."""
    GbpSyncState.objects.filter(pk=integration_id, status=Status.QUEUED).update(
        status=Status.IDLE)


def forget_queued(integration_id):
    """A disconnect or a reconnect: a "Sync now" still waiting for a worker belongs to the
    grant before and is dropped (not shown as under way). The throttle stays: a reconnect is no
    way around it."""
    GbpSyncState.objects.filter(pk=integration_id, status=Status.QUEUED).update(
        status=Status.IDLE)


def is_unclaimed(state: GbpSyncState | None, now=None) -> bool:
    """Queued by "Sync now" longer ago than the pickup window, and no worker started it."""
    now = now or timezone.now()
    return bool(state and state.status == Status.QUEUED and state.requested_at
                and state.requested_at <= now - pickup_window())


def is_syncing(state: GbpSyncState | None, now=None) -> bool:
    """Running (with a live lease), queued by "Sync now" within the pickup window, or paused
    until its resume time (after it, "Sync now" may resume it: nothing else will on the
    embedded default)."""
    if state is None:
        return False
    now = now or timezone.now()
    if state.status == Status.RUNNING:
        return state.lease_until is not None and state.lease_until > now
    if state.status == Status.QUEUED:
        return state.requested_at is not None and state.requested_at > now - pickup_window()
    return (state.status == Status.PAUSED and state.resume_at is not None
            and state.resume_at > now)


def seconds_until_allowed(state: GbpSyncState, now=None) -> int:
    """How long until "Sync now" is accepted again (0: now)."""
    if state.requested_at is None or is_unclaimed(state, now):
        return 0
    now = now or timezone.now()
    ready = state.requested_at + timedelta(seconds=settings.GBP_SYNC_NOW_MIN_INTERVAL)
    return max(0, int((ready - now).total_seconds() + 0.999))
