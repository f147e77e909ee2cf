"""Proactive refresh: find what expires soon and refresh it, in-process or through Celery.

Shared by `manage.py refresh_tokens`, the beat task and `token_health`. Selection walks the
indexed `expires_at` in primary-key chunks, so memory stays flat however many rows there are.
"""

import logging
import re
import queue
import threading
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from kombu.exceptions import OperationalError
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import tokens
from .models import Integration, OAuthCredential, RefreshRun

log = logging.getLogger(__name__)
CHUNK = 1000


class BrokerUnavailable(Exception):
    pass

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'24h', '90m', '2d', '45s' as a timedelta; ValueError otherwise."""
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 24h, 90m, 2d)")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class Result:
    integration_id: int
    provider: str
    account: str
    outcome: str  # refreshed | skipped | reauth | operator | transient | enqueued | due
    code: str = ""
    message: str = ""


@dataclass
class Summary:
    refreshed: int = 0
    skipped: int = 0
    reauth: int = 0
    operator: int = 0
    transient: int = 0
    enqueued: int = 0
    due: int = 0
    seconds: float = 0.0
    attention: list = field(default_factory=list)

    @property
    def failed(self):
        return self.reauth + self.operator + self.transient

    def add(self, result: Result):
        if result.outcome != "due":
            setattr(self, result.outcome, getattr(self, result.outcome) + 1)
        if result.outcome in ("reauth", "operator", "transient"):
            self.attention.append(result)

    def line(self) -> str:
        return (f"refreshed {self.refreshed}, failed {self.failed} (reauth {self.reauth}, "
                f"operator {self.operator}, transient {self.transient}), skipped {self.skipped}"
                + (f", enqueued {self.enqueued}" if self.enqueued else "")
                + f" in {self.seconds:.1f} s")

    def as_dict(self):
        data = asdict(self)
        data["failed"] = self.failed
        data["attention"] = [asdict(r) for r in self.attention]
        return data


def _due(within: timedelta, now, providers=(), ids=()):
    """Credentials of active integrations whose token expires within `within` (indexed)."""
    rows = OAuthCredential.objects.filter(
        integration__status=Integration.Status.ACTIVE, expires_at__lte=now + within)
    if providers:
        rows = rows.filter(integration__provider__in=providers)
    if ids:
        rows = rows.filter(integration_id__in=ids)
    return rows


def due_ids(within: timedelta, *, providers=(), ids=()):
    """Integration ids due and not cooling down, streamed in chunks of CHUNK."""
    now = timezone.now()
    rows = _due(within, now, providers, ids).filter(
        Q(retry_after__isnull=True) | Q(retry_after__lte=now))
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", "integration_id")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        yield from (integration_id for _, integration_id in chunk)


def cooling_down(within: timedelta, *, providers=(), ids=()) -> int:
    now = timezone.now()
    return _due(within, now, providers, ids).filter(retry_after__gt=now).count()


def refresh_one(integration_id: int, within: timedelta, since) -> Result:
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return Result(integration_id, "", "", "skipped", "gone")
    result = Result(integration.pk, integration.provider,
                    integration.display_name or integration.external_id, "refreshed")
    try:
        _, refreshed = tokens.refresh_if_due(integration, within=within, since=since)
        if not refreshed:
            result.outcome = "skipped"
    except tokens.ReauthRequired as exc:
        result.outcome, result.code, result.message = "reauth", exc.code, exc.message
    except tokens.RefreshFailed as exc:
        result.outcome, result.code, result.message = exc.kind, exc.code, exc.message
    return result


def _pool(items, concurrency, work, take):
    """Run `work(item)` on `concurrency` threads fed from a bounded queue (memory stays flat);
    `take(result)` is called under a lock. Each thread closes its database connection at exit."""
    jobs = queue.Queue(maxsize=concurrency * 4)
    lock = threading.Lock()
    errors = []

    def worker():
        try:
            while (item := jobs.get()) is not None:
                if errors:
                    continue  # drain: something failed badly, stop working
                try:
                    result = work(item)
                except BaseException as exc:  # a bug or a database outage: stop the run
                    errors.append(exc)
                    continue
                with lock:
                    take(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for item in items:
        if errors:
            break
        jobs.put(item)
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def run(within: timedelta, *, providers=(), ids=(), concurrency=8, dry_run=False,
        enqueue=False, on_result=None) -> Summary:
    """Refresh everything due; `on_result(result)` is called for each integration."""
    started = timezone.now()
    # A token refreshed this recently (by another copy of this run, or just now on use) is
    # not refreshed again: two runs at once never refresh the same credential twice.
    since = started - timedelta(seconds=settings.INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS)
    summary = Summary(skipped=cooling_down(within, providers=providers, ids=ids))
    record = RefreshRun.objects.create(
        mode="dry-run" if dry_run else "enqueue" if enqueue else "inline") if not dry_run else None

    def take(result):
        summary.add(result)
        if on_result:
            on_result(result)

    try:
        _work(summary, within, since, providers, ids, concurrency, dry_run, enqueue, take)
    finally:  # the run's record is closed whatever happened, so monitors see how it ended
        summary.seconds = (timezone.now() - started).total_seconds()
        if record:
            RefreshRun.objects.filter(pk=record.pk).update(
                finished_at=timezone.now(), due=summary.due, refreshed=summary.refreshed,
                skipped=summary.skipped, reauth=summary.reauth, operator=summary.operator,
                transient=summary.transient, enqueued=summary.enqueued)
    log.info("refresh run: %s", summary.line())
    return summary


def _work(summary, within, since, providers, ids, concurrency, dry_run, enqueue, take):
    ids_iter = due_ids(within, providers=providers, ids=ids)
    if not (dry_run or enqueue):
        def counted():
            for integration_id in ids_iter:
                summary.due += 1
                yield integration_id

        _pool(counted(), concurrency, lambda i: refresh_one(i, within, since), take)
        return
    from .tasks import refresh_integration

    for integration_id in ids_iter:
        summary.due += 1
        if dry_run:
            take(_describe(integration_id, "due"))
            continue
        try:
            refresh_integration.delay(integration_id, within.total_seconds())
        except OperationalError as exc:  # the broker is down: nothing was changed
            raise BrokerUnavailable(f"could not enqueue ({type(exc).__name__}): is the broker "
                                    "(REDIS_URL) reachable?") from None
        take(_describe(integration_id, "enqueued"))


def _describe(integration_id, outcome) -> Result:
    row = Integration.objects.filter(pk=integration_id).values_list(
        "provider", "display_name", "external_id").first() or ("", "", "")
    return Result(integration_id, row[0], row[1] or row[2], outcome)
