"""Proactive refresh: find what expires soon and refresh it here, or hand it to workers.

Shared by `manage.py refresh_tokens` and the beat task. One set of rules decides what is due,
for the dry run and the real run alike: active, expiring within the window, not cooling down
after a failure, and not refreshed in the last INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS (by
another copy of a run, or just in time on use). What is left out is counted by reason.

Selection streams integration ids in keyset chunks (memory stays flat at any size); counts come
from SQL aggregates, never from a query per row. This module knows nothing of Celery: a caller
that fans out passes the function that enqueues a batch of ids.
"""

import logging
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from . import deadline, tokens
from .conf import settings
from .errors import ErrorKind
from .models import Integration, OAuthCredential, RefreshRun
from .providers import registry

log = logging.getLogger(__name__)
CHUNK = 2000
FAILED = (ErrorKind.REAUTH, ErrorKind.OPERATOR, ErrorKind.TRANSIENT)
# Why something expiring within the window is not refreshed, in words for the summary.
SKIP_REASONS = {
    "cooling_down": "cooling down after a failure",
    "refreshed_recently": "refreshed in the last few minutes",
    "refreshed_meanwhile": "refreshed by someone else meanwhile",
    "gone": "no longer there",
}


class BrokerUnavailable(Exception):
    pass


class RunStopped(Exception):
    """A run stopped by its infrastructure (the database or the broker gone), after what was in
    flight finished, with its record closed; `summary` holds the counts so far."""

    def __init__(self, cause: BaseException, summary: "Summary"):
        self.cause, self.summary = cause, summary
        super().__init__(f"{type(cause).__name__}: {cause}")


@dataclass
class Result:
    integration_id: int
    provider: str
    account: str
    outcome: str  # refreshed | skipped | reauth | operator | transient | due
    code: str = ""
    message: str = ""


@dataclass
class Summary:
    refreshed: int = 0
    reauth: int = 0
    operator: int = 0
    transient: int = 0
    enqueued: int = 0
    batches: int = 0
    resume_after: int | None = None  # a fan-out stopped by its time budget resumes after this id
    last_sent: int | None = None
    due: int = 0
    seconds: float = 0.0
    skipped_by_reason: Counter = field(default_factory=Counter)
    due_by_provider: dict = field(default_factory=dict)
    attention: list = field(default_factory=list)

    @property
    def failed(self):
        return self.reauth + self.operator + self.transient

    @property
    def skipped(self):
        return sum(self.skipped_by_reason.values())

    def add(self, result: Result):
        if result.outcome == "skipped":
            self.skipped_by_reason[result.code or "refreshed_meanwhile"] += 1
        elif result.outcome != "due":
            setattr(self, result.outcome, getattr(self, result.outcome) + 1)
        if result.outcome in FAILED:
            self.attention.append(result)

    def skip_words(self) -> str:
        parts = [f"{n} {SKIP_REASONS.get(reason, reason)}"
                 for reason, n in sorted(self.skipped_by_reason.items()) if n]
        return f" ({', '.join(parts)})" if parts else ""

    def line(self) -> str:
        return (f"refreshed {self.refreshed}, failed {self.failed} (reauth {self.reauth}, "
                f"operator {self.operator}, transient {self.transient}), skipped {self.skipped}"
                + self.skip_words()
                + (f", enqueued {self.enqueued} in {self.batches} batch(es)" if self.batches
                   else "")
                + f" in {self.seconds:.1f} s")

    def dry_line(self) -> str:
        providers = ", ".join(f"{p} {n}" for p, n in sorted(self.due_by_provider.items()))
        return (f"dry run: {self.due} due" + (f" ({providers})" if providers else "")
                + f", skipped {self.skipped}{self.skip_words()}; nothing changed")

    def as_dict(self):
        data = asdict(self)
        data["failed"] = self.failed
        data["skipped"] = self.skipped
        data["skipped_by_reason"] = dict(self.skipped_by_reason)
        data["attention"] = [asdict(r) for r in self.attention]
        return data


def min_age_since(now=None):
    """A token refreshed at or after this is not refreshed again by a proactive run."""
    seconds = settings.INTEGRATIONS_PROACTIVE_MIN_AGE_SECONDS
    return (now or timezone.now()) - timedelta(seconds=seconds)


def idle_rules(now) -> list[tuple[str, object]]:
    """(provider id, cutoff) for each provider whose refresh tokens die unused: a credential of
    it last refreshed before the cutoff is due whatever its expiry (Provider.max_idle_days)."""
    try:
        providers = registry.all_providers()
    except registry.ProviderConfigError:  # a misdeclared provider: the check says which
        return []
    return [(p.id, now - timedelta(days=p.max_idle_days)) for p in providers if p.max_idle_days]


def _due_by_expiry(within, now) -> Q:
    """Expiring within the window, or idle too long for its provider. Only a provider that
    declares max_idle_days adds the join to the integration; none of the built-ins does (their
    access tokens expire within the hour, so the daily run renews them anyway)."""
    rule = Q(expires_at__lte=now + within)
    for provider_id, cutoff in idle_rules(now):
        rule |= Q(integration__provider=provider_id) & (
            Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
    return rule


def _expiring(within, now, providers, ids):
    return OAuthCredential.objects.of_active(providers, ids).filter(_due_by_expiry(within, now))


def _not_recent(since):
    return Q(last_refreshed_at__isnull=True) | Q(last_refreshed_at__lt=since)


def _due_rules(credentials, now, since):
    """The rules on the credential itself: not cooling down, not refreshed recently."""
    return credentials.not_cooling_down(now).filter(_not_recent(since))


def due(within: timedelta, now, since, *, providers=(), ids=()):
    """The credentials a run refreshes (a queryset; see the module's rules)."""
    return _due_rules(_expiring(within, now, providers, ids), now, since)


def skipped_counts(within: timedelta, now, since, *, providers=(), ids=()) -> Counter:
    """What expires within the window but is left alone, by reason (two aggregate queries)."""
    expiring = _expiring(within, now, providers, ids)
    return Counter({
        "cooling_down": expiring.cooling_down(now).count(),
        "refreshed_recently": expiring.not_cooling_down(now).exclude(_not_recent(since)).count(),
    })


def due_by_provider(within, now, since, *, providers=(), ids=()) -> dict:
    rows = due(within, now, since, providers=providers, ids=ids).values(
        "integration__provider").annotate(n=Count("pk"))
    return {row["integration__provider"]: row["n"] for row in rows}


def due_ids(within: timedelta, now, since, *, providers=(), ids=(), after=0):
    """Integration ids due, in ascending order after `after`, streamed in chunks.

    Each chunk is two index range scans: credentials by integration id (and the expiry rules),
    then which of those integrations are active. As one join, PostgreSQL merge-joined the
    whole integration table from its first row on every chunk (0.15 s a chunk at a million).
    """
    creds = _due_rules(OAuthCredential.objects.filter(_due_by_expiry(within, now)), now, since)
    if ids:
        creds = creds.filter(integration_id__in=ids)
    active = Integration.objects.active()
    if providers:
        active = active.filter(provider__in=providers)
    last = after
    while True:
        chunk = list(creds.filter(integration_id__gt=last).order_by("integration_id")
                     .values_list("integration_id", flat=True)[:CHUNK])
        if not chunk:
            return
        last = chunk[-1]
        yield from active.filter(pk__in=chunk).order_by("pk").values_list("pk", flat=True)


def due_rows(within, now, since, *, providers=(), ids=()):
    """(id, provider, account) of each due integration, for listings: one streamed query."""
    rows = due(within, now, since, providers=providers, ids=ids).order_by("integration_id")
    for pk, provider, name, external in rows.values_list(
            "integration_id", "integration__provider", "integration__display_name",
            "integration__external_id").iterator(chunk_size=CHUNK):
        yield Result(pk, provider, name or external, "due")


def batches(ids, size):
    batch = []
    for integration_id in ids:
        batch.append(integration_id)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def refresh_one(integration_id: int, within: timedelta, since) -> Result:
    """Refresh one integration if still due. Whatever goes wrong with it is recorded against it
    and returned; only infrastructure failures (tokens.INFRASTRUCTURE) are raised."""
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return Result(integration_id, "", "", "skipped", "gone")
    result = Result(integration.pk, integration.provider,
                    integration.display_name or integration.external_id, "refreshed")
    try:
        _, refreshed = tokens.refresh_if_due(integration, within=within, since=since,
                                             idle_before=_idle_before(integration))
        if not refreshed:
            result.outcome, result.code = "skipped", "refreshed_meanwhile"
    except tokens.TokenError as exc:
        result.outcome, result.code, result.message = str(exc.kind), exc.code, exc.message
    except tokens.INFRASTRUCTURE:
        raise
    except Exception as exc:  # outside the refresh itself (loading it, say): still this one only
        tokens.record_unexpected(integration, exc)
        result.outcome, result.code = ErrorKind.TRANSIENT.value, "unexpected"
        result.message = f"unexpected {type(exc).__name__}"
    return result


def _idle_before(integration):
    """A credential of this integration's provider refreshed before this is due by age alone."""
    provider = registry.find(integration.provider)
    if provider is None or not provider.max_idle_days:
        return None
    return timezone.now() - timedelta(days=provider.max_idle_days)


def refresh_many(ids, within: timedelta, since, concurrency, take):
    """Refresh each id on `concurrency` threads, `take(result)` for each."""
    in_threads(ids, concurrency, lambda i: refresh_one(i, within, since), take)


def in_threads(items, concurrency, work, take, settled=None):
    """`work(item)` on `concurrency` threads, at most a few items in flight per thread (memory
    stays flat); `take(result)` in this thread, then `settled()` after each set of results
    that came back together (a caller may write them at once). An exception from `work` stops
    the run and is raised. Each thread's database connection is closed at the end; its queries have a deadline
    (integrations.deadline)."""
    work = deadline.in_bounds(work)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="refresh") as pool:
        pending = set()
        try:
            for item in items:  # (the selection itself may fail too: the database gone)
                if len(pending) >= concurrency * 4:
                    done, pending = wait_for_futures(pending, return_when=FIRST_COMPLETED)
                    _take(done, take, settled)
                pending.add(pool.submit(work, item))
            while pending:  # each result as it comes, not the last ones after the slowest
                done, pending = wait_for_futures(pending, return_when=FIRST_COMPLETED)
                _take(done, take, settled)
        except BaseException:
            _drain(pending, take)
            raise
        finally:
            _close_connections(pool, concurrency)


def _take(done, take, settled=None):
    """`take` every result that came back (then `settled()`); then raise the first failure,
    if any."""
    failures = [future.exception() for future in done if future.exception() is not None]
    for future in done:
        if future.exception() is None:
            take(future.result())
    if settled:
        settled()
    if failures:
        raise failures[0]


def _drain(futures, take):
    """Stopping (the database gone): what has not started never will; what is running
    finishes (a refresh in flight stores what the provider issued), and every result that came
    back is taken, so the run's counts include it."""
    for future in futures:
        future.cancel()
    for future in wait_for_futures(futures).done:
        if not future.cancelled() and future.exception() is None:
            take(future.result())


def _close_connections(pool, threads):
    """Run connection.close() once on each of the pool's threads: every job waits at a barrier
    until all have started, so no thread can take two."""
    barrier = threading.Barrier(threads)

    def close():
        connection.close()
        barrier.wait(timeout=30)

    wait_for_futures([pool.submit(close) for _ in range(threads)])


@deadline.in_bounds
def run(within: timedelta, *, providers=(), ids=(), concurrency=8, dry_run=False, listing=False,
        send=None, batch_size=None, after=0, budget_seconds=None, on_result=None,
        on_total=None) -> Summary:
    """Refresh everything due, or with `send`, hand it out in batches: `send(list_of_ids)`.
    `on_result(result)` is called per integration (refreshed or failed; with `listing`, each
    due one in a dry run); `on_total(n)` first, with how many are due (one COUNT), for a
    progress bar. A fan-out that runs past `budget_seconds` stops after a whole batch
    and says where to resume (`summary.resume_after`), for a caller with a time limit."""
    started = timezone.now()
    since = min_age_since(started)
    scope = {"providers": providers, "ids": ids}
    summary = Summary(skipped_by_reason=skipped_counts(within, started, since, **scope))
    record = None if dry_run else RefreshRun.objects.create(mode="enqueue" if send else "inline")
    stopped = ""

    def take(result):
        summary.add(result)
        if on_result:
            on_result(result)

    def counted(ids_iter):
        for integration_id in ids_iter:
            summary.due += 1
            yield integration_id

    try:
        if dry_run:
            summary.due_by_provider = due_by_provider(within, started, since, **scope)
            summary.due = sum(summary.due_by_provider.values())
            if listing:
                for result in due_rows(within, started, since, **scope):
                    take(result)
        elif send:
            size = batch_size or settings.INTEGRATIONS_REFRESH_BATCH_SIZE
            for batch in batches(due_ids(within, started, since, after=after, **scope), size):
                elapsed = (timezone.now() - started).total_seconds()
                if summary.batches and budget_seconds is not None and elapsed > budget_seconds:
                    summary.resume_after = summary.last_sent  # this batch goes to the next run
                    break
                send(batch, record.pk)
                summary.batches += 1
                summary.enqueued += len(batch)
                summary.due += len(batch)
                summary.last_sent = batch[-1]
        else:
            if on_total:
                on_total(due(within, started, since, **scope).count())
            refresh_many(counted(due_ids(within, started, since, **scope)), within, since,
                         concurrency, take)
    except (BrokerUnavailable, *tokens.INFRASTRUCTURE) as exc:
        # What was in flight has finished (and stored what it got: tokens.durably); say why
        # the rest was not done.
        stopped = f"{'broker' if isinstance(exc, BrokerUnavailable) else 'database'} " \
                  f"unavailable ({type(exc).__name__})"
        raise RunStopped(exc, summary) from exc
    finally:  # the run's record is closed whatever happened, so monitors see how it ended
        summary.seconds = (timezone.now() - started).total_seconds()
        if record:
            _close(record, summary, stopped)
    log.info("refresh run: %s", summary.dry_line() if dry_run else summary.line())
    return summary


def _close(record, summary, stopped):
    """The run's record, with its counts (and why it stopped): written once the database takes
    it again, for a while; monitors otherwise see it `running` and alert."""
    def write():
        return RefreshRun.objects.filter(pk=record.pk).update(
            finished_at=timezone.now(), due=summary.due, refreshed=summary.refreshed,
            skipped=summary.skipped, reauth=summary.reauth, operator=summary.operator,
            transient=summary.transient, enqueued=summary.enqueued,
            # (added: a stopping worker may already have handed a batch back as a new one)
            batches_sent=F("batches_sent") + summary.batches, stopped=stopped[:200])

    try:
        tokens.durably(write, what="close the run's record",
                       seconds=settings.INTEGRATIONS_REFRESH_LOCK_SECONDS)
    except tokens.INFRASTRUCTURE:
        log.error("refresh run %s: its record could not be closed (the database is gone)",
                  record.pk)
