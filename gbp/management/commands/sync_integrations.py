"""Sync Google Business Profile data now.

    python manage.py sync_integrations [--integration ID] [--provider P]

Exit status: 0 all synced, 1 some sync failed, 2 bad usage.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from integrations.models import Integration

from gbp.providers import provider_ids
from gbp.sync import GbpSyncService


class Command(BaseCommand):
    help = "Sync every active Google Business Profile integration (or the ones named)."

    def add_arguments(self, parser):
        parser.add_argument("--integration", action="append", type=int, default=[])
        parser.add_argument("--provider", action="append", default=[])

    def handle(self, *args, **opts):
        syncing = provider_ids()
        if unknown := [p for p in opts["provider"] if p not in syncing]:
            raise CommandError(f"not a syncing provider: {', '.join(unknown)}", returncode=2)
        rows = Integration.objects.filter(status=Integration.Status.ACTIVE,
                                          provider__in=opts["provider"] or syncing)
        if opts["integration"]:
            rows = rows.filter(pk__in=opts["integration"])
        started = time.monotonic()
        synced = failed = 0
        service = GbpSyncService()
        for integration in rows.order_by("pk").iterator():
            result = service.sync(integration)
            if result.ok:
                synced += 1
            else:
                failed += 1
                self.stdout.write(f"integration {integration.pk} {integration.provider} "
                                  f"{integration.display_name}: {result.error_code}: {result.message}")
        self.stdout.write(f"synced {synced}, failed {failed} in {time.monotonic() - started:.1f} s")
        if failed:
            sys.exit(1)
