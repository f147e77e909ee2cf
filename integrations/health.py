"""Numbers for monitors: no token and no personal data, only counts and times.

Shared by the health endpoint (JSON) and the Prometheus endpoint; every query is served by an
index (see the models' Meta) so a scrape stays cheap at a million credentials.
"""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from .models import Integration, IntegrationEvent, Notice, OAuthCredential, RefreshRun


def state(now=None) -> dict:
    now = now or timezone.now()
    by_status = dict(Integration.objects.values_list("status").annotate(n=Count("id")))
    active = OAuthCredential.objects.of_active()
    last = RefreshRun.objects.first()
    return {
        "time": now.isoformat(),
        "integrations": {s: by_status.get(s, 0) for s in Integration.Status.values},
        "expiring_within_1h": active.expiring(timedelta(hours=1), now).count(),
        "expiring_within_24h": active.expiring(timedelta(hours=24), now).count(),
        "cooling_down": active.cooling_down(now).count(),
        "refresh_failures_24h": IntegrationEvent.objects.filter(
            kind=IntegrationEvent.Kind.REFRESH, created_at__gte=now - timedelta(hours=24)
        ).exclude(outcome=IntegrationEvent.Outcome.OK).count(),
        "needs_attention": Integration.objects.needs_attention_count(),
        # Owners not yet told (a delivery failed and waits for its retry), and given up on.
        "notices": {"pending": Notice.objects.filter(status=Notice.Status.PENDING).count(),
                    "failed": Notice.objects.filter(status=Notice.Status.FAILED).count()},
        "last_proactive_run": None if last is None else {
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "started_at_ts": last.started_at.timestamp(),
            "finished_at_ts": last.finished_at.timestamp() if last.finished_at else None,
            "outcome": last.outcome,
            "mode": last.mode,
            "refreshed": last.refreshed,
            "failed": last.failed,
            "skipped": last.skipped,
            "enqueued": last.enqueued,
            # A fan-out: batches handed to the broker and batches workers finished; a gap that
            # stays is work lost with the broker (or a worker) and shows as batches_pending.
            "batches_sent": last.batches_sent,
            "batches_done": last.batches_done,
            "stopped": last.stopped,
        },
    }


def report() -> dict:
    data = state()
    if data["last_proactive_run"]:
        for key in ("started_at_ts", "finished_at_ts"):
            data["last_proactive_run"].pop(key)
    return data
