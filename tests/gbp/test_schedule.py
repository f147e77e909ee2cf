"""The daily schedule spreads the syncs over a window by each one's share of the quota; a sync
the quota or its time budget paused is queued again; a redelivered copy does not sync twice."""

import pytest
from django.utils import timezone

from gbp import schedule, state as sync_state, tasks
from gbp.limiter import HEADROOM
from gbp.models import GbpAccount, GbpLocation, GbpSyncState
from gbp.sync import SyncResult


def with_locations(integration, n):
    account = GbpAccount.objects.create(integration=integration, name=f"accounts/{integration.pk}")
    GbpLocation.objects.bulk_create([
        GbpLocation(integration=integration, account=account, name=f"locations/{integration.pk}-{i}")
        for i in range(n)])
    return integration


def test_it_spreads_the_days_syncs_across_the_window(db, owner, make_integration):
    small, big, new = (with_locations(make_integration(owner, "sandbox"), 7),
                       with_locations(make_integration(owner, "sandbox"), 297),
                       make_integration(owner, "sandbox"))
    plan = schedule.plan([small.pk, big.pk, new.pk], window_seconds=3600, per_minute=300)
    # Needs, in quota seconds: (7+3), (297+3), (10 assumed+3) calls at 4.75 a second: 332 s in
    # all, stretched over the hour in proportion.
    assert [pk for pk, _ in plan] == [small.pk, big.pk, new.pk]
    assert [c for _, c in plan] == [0, int(3600 * 10 / 323), int(3600 * 310 / 323)]


def test_it_runs_them_back_to_back_at_the_quotas_pace_when_the_window_is_too_short(
        db, owner, make_integration, caplog):
    first, second = (with_locations(make_integration(owner, "sandbox"), 997),
                     with_locations(make_integration(owner, "sandbox"), 997))
    plan = schedule.plan([first.pk, second.pk], window_seconds=60, per_minute=300)
    assert plan == [(first.pk, 0), (second.pk, int(1000 / (300 * HEADROOM / 60)))]
    assert "does not fit" in caplog.text


def test_it_enqueues_the_daily_run_in_waves_of_short_countdowns(db, owner, make_integration,
                                                                 monkeypatch):
    """Spread over the 4 h window, but no message waits longer than a wave (10 minutes): the
    broker's visibility timeout stays short, so a killed worker's tasks come back in minutes."""
    ids = [with_locations(make_integration(owner, "sandbox"), 50).pk for _ in range(3)]
    make_integration(owner, "sandbox", status="reauth_required")
    sent, waves = [], []
    monkeypatch.setattr(tasks.sync_integration, "apply_async",
                        lambda args, kwargs, countdown: sent.append((args[0], countdown, kwargs)))
    monkeypatch.setattr(tasks.sync_all, "apply_async",
                        lambda kwargs, countdown: waves.append((kwargs, countdown)))
    started = [] if tasks.sync_all()["enqueued"] == 1 else None
    starts = [(sent[0][0], sent[0][1])]
    while waves:  # each wave runs WAVE_SECONDS after the one before
        kwargs, countdown = waves.pop()
        assert countdown == tasks.WAVE_SECONDS
        before = len(sent)
        tasks.sync_all(**kwargs)
        starts += [(pk, kwargs["offset"] + c) for pk, c, _ in sent[before:]]
    assert started == [] and [pk for pk, _ in starts] == ids
    assert all(0 <= c < tasks.WAVE_SECONDS for _, c, _ in sent)
    offsets = [start for _, start in starts]
    assert offsets[0] == 0 and offsets[1] > tasks.WAVE_SECONDS and abs(
        offsets[2] - 2 * offsets[1]) <= 1
    assert len({kwargs["since"] for _, _, kwargs in sent}) == 1  # the day's start, every wave


def test_a_redelivered_copy_of_the_daily_message_does_not_sync_again(db, owner, make_integration):
    integration = make_integration(owner, "sandbox")
    started = timezone.now()
    sync_state.get(integration.pk)
    GbpSyncState.objects.filter(integration=integration).update(finished_at=timezone.now())
    assert tasks.sync_integration(integration.pk, since=started.isoformat()) == {
        "skipped": True, "reason": "already synced"}


@pytest.mark.parametrize("code", ["rate_limited", "time_budget"])
def test_a_paused_sync_is_queued_again_to_resume(db, owner, make_integration, monkeypatch,
                                                  code):
    integration = make_integration(owner, "sandbox")
    paused = SyncResult(ok=False, deferred=True, resume_in=300 if code == "rate_limited" else 0,
                        error_code=code)
    monkeypatch.setattr("gbp.sync.GbpSyncService.sync", lambda self, i, budget_seconds: paused)
    again = []
    monkeypatch.setattr(tasks.sync_integration, "apply_async",
                        lambda args, countdown: again.append((args, countdown)))
    tasks.sync_integration(integration.pk)  # as a worker runs it (not eagerly)
    assert again == [((integration.pk,), paused.resume_in)]
