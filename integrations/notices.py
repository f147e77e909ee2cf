"""Telling the right person, reliably: a signal for host apps and a notice through the adapter.

The state change that needs a person (an integration that only its owner can fix) writes a
`Notice` row in its own transaction, so the notice exists exactly when the change does. After
the commit the `reauth_required` signal is sent once and the notice is delivered at once through
the adapter (by default an email). A delivery that fails (the mail server is down) is tried
again by the sweep (`deliver_due`: the `deliver_notices` task every few minutes, or
`manage.py deliver_notices` from cron) with exponential backoff, until it succeeds or
INTEGRATIONS_NOTICE_ATTEMPTS run out (then it is kept as failed, logged at ERROR, and admin shows
it). A delivery first claims its notice with one conditional UPDATE, so two sweeps never deliver
the same notice; only a process killed between the adapter's send and the next write can leave
a notice that is sent again, and its email carries the same Message-ID.

A delivery often runs where no request says which language to write in (a worker, the sweep):
the adapter renders each recipient's email in their language (`user_language`), whatever
language the process has active.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import signals
from .adapter import get_adapter
from .conf import settings
from .models import Integration, Notice

log = logging.getLogger(__name__)

# A delivery holds its notice this long; a killed one's hold lapses and the sweep takes it.
CLAIM_SECONDS = 300
MAX_DELAY = timedelta(days=1)


def reauth_required(integration, code: str, message: str) -> Notice:
    """Inside the transaction of the transition to `reauth_required`: the notice, and after
    the commit the signal and a first delivery."""
    notice = Notice.objects.create(integration_id=integration.pk,
                                   kind=Notice.Kind.REAUTH_REQUIRED, error_code=code)
    transaction.on_commit(lambda: _after_commit(integration.pk, notice.pk, code, message))
    return notice


def _after_commit(integration_id, notice_id, code, message):
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is not None:
        signals.reauth_required.send(sender=Integration, integration=integration,
                                     owner=integration.owner, error_code=code, message=message)
    deliver(notice_id)


def _claim(notice_id, now) -> bool:
    return bool(Notice.objects.due(now).filter(pk=notice_id).update(
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1))


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: the retry base doubled n-1 times, at most a day."""
    base = timedelta(seconds=settings.INTEGRATIONS_NOTICE_RETRY_SECONDS)
    return min(base * 2 ** max(0, attempts - 1), MAX_DELAY)


def deliver(notice_id) -> bool:
    """Try to deliver one due notice; True if it was delivered now. Never raises for a
    delivery that failed: it is recorded and tried again later."""
    now = timezone.now()
    if not _claim(notice_id, now):
        return False  # not due, delivered, or held by another delivery
    notice = Notice.objects.select_related("integration__owner",
                                           "integration__connected_by").get(pk=notice_id)
    adapter = get_adapter()
    try:
        recipients = adapter.notice_recipients(notice.integration)
        count = adapter.send_notice(notice, recipients)
    except Exception as exc:  # any failure of the host's channel: keep it and try again
        _failed(notice, exc)
        return False
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.SENT, sent_at=timezone.now(), claimed_until=None, last_error="",
        recipients=count if isinstance(count, int) else None)
    log.info("notice %s (%s, integration %s) delivered", notice.pk, notice.kind,
             notice.integration_id)
    return True


def _failed(notice, exc):
    error = type(exc).__name__
    if notice.attempts >= settings.INTEGRATIONS_NOTICE_ATTEMPTS:
        Notice.objects.filter(pk=notice.pk).update(
            status=Notice.Status.FAILED, claimed_until=None, last_error=error)
        log.error("notice %s (integration %s) could not be delivered after %s attempts (%s); "
                  "gave up", notice.pk, notice.integration_id, notice.attempts, error)
        return
    delay = backoff(notice.attempts)
    Notice.objects.filter(pk=notice.pk).update(
        claimed_until=None, last_error=error, next_attempt_at=timezone.now() + delay)
    log.warning("notice %s (integration %s) not delivered (%s, attempt %s); next try in %s s",
                notice.pk, notice.integration_id, error, notice.attempts,
                int(delay.total_seconds()))


def deliver_due(limit: int = 500) -> dict:
    """The sweep: deliver every due notice (at most `limit` per call)."""
    ids = list(Notice.objects.due().order_by("next_attempt_at").values_list("pk", flat=True)[
        :limit])
    delivered = sum(deliver(pk) for pk in ids)
    return {"due": len(ids), "delivered": delivered, "failed": len(ids) - delivered}
