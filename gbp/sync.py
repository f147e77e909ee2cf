"""GbpSyncService: Google Business Profile accounts, locations, daily metrics and reviews.

    result = GbpSyncService().sync(integration)

One sync per integration at a time (a lease on its GbpSyncState row). Before the sync the token
is refreshed if it expires within 5 minutes; every API call goes through the client
(gbp.client): its slot at the shared rate limiter, one forced refresh and retry on a 401.

The locations' work runs on GBP_SYNC_CONCURRENCY threads: per location one metrics call, per
group of up to 50 locations of an account one reviews reading (v4 batchGetReviews), started a
few groups ahead of their metrics. The first sync lists accounts and locations on a thread of
its own (a chain of pages) and each page is stored here and its work handed out as it arrives
(with nothing stored, nothing can have been removed); a resync lists them on the pool alongside
the work on the locations it has stored (what the listing removes is dropped, what it adds is
synced after). The threads only fetch; this thread writes, in bulk: a bounded number of
statements per location whatever its review count, and rows are compared first, so a second
sync writes none. The access token is read once for the whole sync
(integrations.tokens.TokenHolder), not per call.

Reviews are read newest first and the reading stops at the first review already stored unchanged
(older than the last complete sync); a full listing, the only reading that deletes reviews, runs
for a location at most every GBP_FULL_REVIEW_SYNC_DAYS. Rows that disappeared are deleted only
after a complete, clean listing. An item Google sent in the wrong shape fails that item, with a
message saying which and why. When Google's quota stays exhausted the sync pauses and resumes
later without redoing the locations it finished.
"""

import logging
import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations import tokens
from integrations.models import Integration, IntegrationEvent
from integrations.providers import registry

from . import state as sync_state
from .client import QuotaExhausted, SyncError
from .conf import settings
from .parse import METRICS  # noqa: F401  (the metrics a sync fetches; tests and charts read it)
from .providers import is_gbp
from .result import Paused, SyncResult, fail
from .run import Run

log = logging.getLogger(__name__)


class GbpSyncService:
    def __init__(self, concurrency: int | None = None):
        self.concurrency = concurrency or settings.GBP_SYNC_CONCURRENCY

    def sync(self, integration: Integration, *, budget_seconds: float | None = None) -> SyncResult:
        """Sync one integration. With `budget_seconds`, stop starting new work after that long
        and pause (result.deferred, resume_in 0) for the caller to resume in a new task."""
        provider = registry.find(integration.provider)
        if not is_gbp(provider):
            raise ValueError(f"provider {integration.provider!r} is not Google Business Profile")
        owner = uuid.uuid4().hex
        state = sync_state.acquire(integration.pk, owner)
        if state is None:
            log.info("integration %s: GBP sync already under way; not starting another",
                     integration.pk)
            return SyncResult(ok=False, skipped=True, error_code="already_running",
                              message="Another sync of this integration is under way.")
        try:
            return self._sync(integration, provider, state, owner, budget_seconds)
        finally:
            sync_state.release(integration.pk, owner)  # a no-op after finish() or pause()

    def _sync(self, integration, provider, state, owner, budget_seconds) -> SyncResult:
        started = time.monotonic()
        run = Run(integration, provider, state, owner, self.concurrency, budget_seconds)
        result = run.result
        try:
            tokens.ensure_fresh(integration, buffer=timedelta(minutes=5))
            run.execute()
        except tokens.ReauthRequired as exc:
            fail(result, "reauth_required",
                  f"Reconnect needed: {exc.message} The sync will resume once reconnected.")
        except tokens.RefreshFailed as exc:
            fail(result, exc.code, f"Could not renew access ({exc.code}); "
                                    "the next sync will try again.")
        except QuotaExhausted as exc:  # while listing: the same pause as during the work
            run.pause(exc.resume_in, exc.message, "rate_limited")
            return result
        except Paused as exc:
            run.pause(exc.resume_in, exc.reason, exc.code)
            return result
        except SyncError as exc:
            fail(result, exc.code, exc.message)
        except Exception as exc:  # a bug or an outage below us: this sync fails, not the page
            log.exception("integration %s: GBP sync stopped by an unexpected error",
                          integration.pk)
            fail(result, "unexpected", f"The sync stopped on an unexpected error "
                                        f"({type(exc).__name__}); it has been logged.")
        result.calls = dict(run.api.calls) if run.api else {}
        _finish(integration, result, time.monotonic() - started)
        sync_state.finish(integration.pk, owner, ok=result.ok, error_code=result.error_code,
                          started_at=state.started_at, summary=result.summary)
        return result



# --- outcome ---------------------------------------------------------------------------------------
def _finish(integration, result, elapsed):
    now = timezone.now()
    status = Integration.SyncStatus.OK if result.ok else Integration.SyncStatus.ERROR
    with transaction.atomic():
        Integration.objects.filter(pk=integration.pk).update(
            last_sync_status=status, last_sync_message=result.message, last_synced_at=now)
        IntegrationEvent.objects.record(
            integration.pk, IntegrationEvent.Kind.SYNC,
            IntegrationEvent.Outcome.OK if result.ok else IntegrationEvent.Outcome.ERROR,
            error_code=result.error_code, message=result.message,
            duration_ms=int(elapsed * 1000))
    integration.last_sync_status, integration.last_synced_at = status, now
    integration.last_sync_message = result.message
    calls = sum(result.calls.values())
    if result.ok:
        log.info("integration %s: GBP sync ok (%s locations, %s API calls)", integration.pk,
                 result.locations_total, calls)
    else:  # the operator's words too: which API to enable, what Google said
        log.warning("integration %s: GBP sync failed %s (%s of %s locations, %s API calls): %s",
                    integration.pk, result.error_code, result.locations_done,
                    result.locations_total, calls, result.message)
