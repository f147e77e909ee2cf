"""Sync Google Business Profile data now, in this process.

    python manage.py sync_integrations [--integration ID ...] [--provider P ...]

Every integration asked for with --integration gets a line saying what became of it (synced,
failed and why, needs reconnect, disconnected, no such integration, another sync under way);
without --integration, the lines are for the failures only (and every one with -v 2). A sync
paused by Google's quota waits here and resumes.

Exit status: 0 all synced (or being synced elsewhere), 1 some sync failed or an integration
asked for was not synced, 2 bad usage.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from integrations import http
from integrations.models import Integration

from gbp.providers import provider_ids
from gbp.sync import GbpSyncService

MAX_RESUMES = 12  # a quota that stays exhausted this long is reported as a failure


class Command(BaseCommand):
    help = "Sync every active Google Business Profile integration (or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("--integration", action="append", type=int, default=[])
        parser.add_argument("--provider", action="append", default=[])

    def handle(self, *args, **opts):
        syncing = provider_ids()
        if unknown := [p for p in opts["provider"] if p not in syncing]:
            raise CommandError(f"not a syncing provider: {', '.join(unknown)}", returncode=2)
        providers = opts["provider"] or syncing
        asked = list(dict.fromkeys(opts["integration"]))
        self.verbose = opts["verbosity"] >= 2 or bool(asked)
        started = time.monotonic()
        counts = {"synced": 0, "failed": 0, "not synced": 0, "skipped": 0}
        self.asked = bool(asked)
        service = GbpSyncService()

        rows = Integration.objects.filter(status=Integration.Status.ACTIVE,
                                          provider__in=providers)
        if asked:
            found = {i.pk: i for i in Integration.objects.filter(pk__in=asked)}
            for pk in asked:
                integration = found.get(pk)
                reason = self.not_syncable(integration, providers)
                if reason:
                    counts["not synced"] += 1
                    self.stdout.write(f"integration {pk}: {reason}; not synced")
            rows = rows.filter(pk__in=asked)
        for integration in rows.order_by("pk").iterator():
            counts[self.sync_one(service, integration)] += 1

        self.stdout.write(f"synced {counts['synced']}, failed {counts['failed']}"
                          + (f", not synced {counts['not synced']}" if counts["not synced"] else "")
                          + (f", skipped {counts['skipped']} (being synced elsewhere)"
                             if counts["skipped"] else "")
                          + f" in {time.monotonic() - started:.1f} s")
        if counts["failed"] or counts["not synced"]:
            sys.exit(1)

    @staticmethod
    def not_syncable(integration, providers) -> str:
        if integration is None:
            return "no such integration"
        if integration.provider not in providers:
            return f"its provider ({integration.provider}) is not synced by this command"
        if integration.status == Integration.Status.REAUTH_REQUIRED:
            return "needs reconnect (its owner must reconnect it)"
        if integration.status != Integration.Status.ACTIVE:
            return f"{integration.get_status_display().lower()}"
        return ""

    def sync_one(self, service, integration) -> str:
        label = f"integration {integration.pk} {integration.provider} {integration.display_name}"
        result = service.sync(integration)
        for _ in range(MAX_RESUMES):
            if not result.deferred:
                break
            self.stderr.write(f"{label}: {result.message} Resuming in {result.resume_in:.0f} s.")
            http.wait(result.resume_in)
            result = service.sync(integration)
        if result.skipped:
            self.stdout.write(f"{label}: another sync of it is under way; not synced")
            return "not synced" if self.asked else "skipped"
        if not result.ok:
            self.stdout.write(f"{label}: {result.error_code}: {result.message}")
            return "failed"
        if self.verbose:
            self.stdout.write(f"{label}: {result.message}")
        return "synced"
