"""Deliver the notices that are due: first deliveries that never ran, and retries of those that
failed (a mail outage). What the `deliver_notices` beat task does; for cron: every 5 minutes.

    python manage.py deliver_notices

Exit status: 0 nothing failed; 1 a due notice could not be delivered (it is tried again later).
"""

import sys

from django.core.management.base import BaseCommand

from integrations import notices


class Command(BaseCommand):
    help = "Deliver due notices to owners (and retry failed deliveries)."

    def handle(self, *args, **opts):
        result = notices.deliver_due()
        self.stdout.write(f"notices due {result['due']}: delivered {result['delivered']}, "
                          f"not delivered {result['failed']} (tried again later)")
        if result["failed"]:
            sys.exit(1)
