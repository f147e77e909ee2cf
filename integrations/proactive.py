"""Proactive refresh: find what expires soon and refresh it here, or hand it to workers.

Shared by `manage.py refresh_tokens` and the beat task. Selection walks the indexed
`expires_at` in primary-key chunks, so memory stays flat however many rows there are. This module
knows nothing of Celery: a caller that fans out passes the function that enqueues.
"""

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from . import tokens
from .conf import settings
from .errors import ErrorKind
from .models import Integration, OAuthCredential, RefreshRun

log = logging.getLogger(__name__)
CHUNK = 1000
FAILED = (ErrorKind.REAUTH, ErrorKind.OPERATOR, ErrorKind.TRANSIENT)


class BrokerUnavailable(Exception):
    pass


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
        if result.outcome in FAILED:
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


def due_ids(within: timedelta, *, providers=(), ids=()):
    """Integration ids due and not cooling down, streamed in chunks of CHUNK."""
    rows = OAuthCredential.objects.due(within, providers=providers, ids=ids)
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last).order_by("pk").values_list(
            "pk", "integration_id")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        yield from (integration_id for _, integration_id in chunk)


def cooling_down(within: timedelta, *, providers=(), ids=()) -> int:
    now = timezone.now()
    return OAuthCredential.objects.of_active(providers, ids).expiring(within, now).cooling_down(
        now).count()


def min_age_since(now=None):
    """A token refreshed at or after this (by another copy of a run, or just-in-time on use) is
    not refreshed again by a proactive run."""
    seconds = settings.INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS
    return (now or timezone.now()) - timedelta(seconds=seconds)


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
    except tokens.TokenError as exc:
        result.outcome, result.code, result.message = str(exc.kind), exc.code, exc.message
    return result


def in_threads(items, concurrency, work, take):
    """`work(item)` on `concurrency` threads, at most a few items in flight per thread (memory
    stays flat); `take(result)` in this thread. An exception from `work` (a bug, the database
    gone) stops the run and is raised. Each thread's database connection is closed at the end."""
    with ThreadPoolExecutor(concurrency, thread_name_prefix="refresh") as pool:
        pending = set()
        try:
            for item in items:
                if len(pending) >= concurrency * 4:
                    done, pending = wait_for_futures(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        take(future.result())
                pending.add(pool.submit(work, item))
            for future in wait_for_futures(pending).done:
                take(future.result())
        finally:
            for future in pending:
                future.cancel()
            _close_connections(pool, concurrency)


def _close_connections(pool, threads):
    """Run connection.close() once on each of the pool's threads: every job waits at a barrier
    until all have started, so no thread can take two."""
    barrier = threading.Barrier(threads)

    def close():
        connection.close()
        barrier.wait(timeout=30)

    wait_for_futures([pool.submit(close) for _ in range(threads)])


def run(within: timedelta, *, providers=(), ids=(), concurrency=8, dry_run=False,
        send=None, on_result=None) -> Summary:
    """Refresh everything due (or, with `send`, hand each id to `send(integration_id)`);
    `on_result(result)` is called for each integration."""
    started = timezone.now()
    since = min_age_since(started)
    summary = Summary(skipped=cooling_down(within, providers=providers, ids=ids))
    record = None if dry_run else RefreshRun.objects.create(mode="enqueue" if send else "inline")

    def take(result):
        summary.add(result)
        if on_result:
            on_result(result)

    def counted():
        for integration_id in due_ids(within, providers=providers, ids=ids):
            summary.due += 1
            yield integration_id

    try:
        if dry_run:
            for integration_id in counted():
                take(_describe(integration_id, "due"))
        elif send:
            for integration_id in counted():
                send(integration_id)
                take(_describe(integration_id, "enqueued"))
        else:
            in_threads(counted(), concurrency, lambda i: refresh_one(i, within, since), take)
    finally:  # the run's record is closed whatever happened, so monitors see how it ended
        summary.seconds = (timezone.now() - started).total_seconds()
        if record:
            RefreshRun.objects.filter(pk=record.pk).update(
                finished_at=timezone.now(), due=summary.due, refreshed=summary.refreshed,
                skipped=summary.skipped, reauth=summary.reauth, operator=summary.operator,
                transient=summary.transient, enqueued=summary.enqueued)
    log.info("refresh run: %s", summary.line())
    return summary


def _describe(integration_id, outcome) -> Result:
    row = Integration.objects.filter(pk=integration_id).values_list(
        "provider", "display_name", "external_id").first() or ("", "", "")
    return Result(integration_id, row[0], row[1] or row[2], outcome)
