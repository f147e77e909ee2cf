"""Numbers for monitors: no token and no personal data, only counts and times."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from .models import Integration, IntegrationEvent, OAuthCredential, RefreshRun


def report() -> dict:
    now = timezone.now()
    by_status = dict(Integration.objects.values_list("status").annotate(n=Count("id")))
    active = OAuthCredential.objects.of_active()
    failures = IntegrationEvent.objects.filter(
        kind=IntegrationEvent.Kind.REFRESH, created_at__gte=now - timedelta(hours=24)
    ).exclude(outcome=IntegrationEvent.Outcome.OK)
    last = RefreshRun.objects.first()
    return {
        "time": now.isoformat(),
        "integrations": {s: by_status.get(s, 0) for s in Integration.Status.values},
        "expiring_within_1h": active.expiring(timedelta(hours=1), now).count(),
        "expiring_within_24h": active.expiring(timedelta(hours=24), now).count(),
        "refresh_failures_24h": failures.count(),
        "needs_attention": Integration.objects.needs_attention().distinct().count(),
        "last_proactive_run": None if last is None else {
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "outcome": last.outcome,
            "mode": last.mode,
            "refreshed": last.refreshed,
            "failed": last.failed,
            "skipped": last.skipped,
            "enqueued": last.enqueued,
        },
    }
