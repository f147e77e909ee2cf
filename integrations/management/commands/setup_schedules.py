"""Create the Celery beat schedules (django-celery-beat), idempotently; editable in admin."""

import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

SCHEDULES = [
    # (name, task, kwargs, crontab or interval)
    ("Proactive token refresh (daily)", "integrations.tasks.refresh_expiring_tokens",
     {"within_seconds": 24 * 3600}, {"crontab": {"minute": "0", "hour": "2"}}),
    ("Token sweep (hourly, tokens expiring before the next sweep)",
     "integrations.tasks.refresh_expiring_tokens", {"within_seconds": 75 * 60},
     {"interval": {"every": 1, "period": IntervalSchedule.HOURS}}),
    ("Google Business Profile sync (daily)", "integrations.tasks.sync_all",
     {}, {"crontab": {"minute": "0", "hour": "3"}}),
]


class Command(BaseCommand):
    help = "Create or update the beat schedules for refresh and sync (safe to run again)."

    def handle(self, *args, **options):
        for name, task, kwargs, when in SCHEDULES:
            fields = {"task": task, "kwargs": json.dumps(kwargs)}
            if "crontab" in when:
                fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    day_of_week="*", day_of_month="*", month_of_year="*", **when["crontab"])
                fields["interval"] = None
            else:
                fields["interval"], _ = IntervalSchedule.objects.get_or_create(**when["interval"])
                fields["crontab"] = None
            # An existing schedule is left alone: an operator may have edited it in admin.
            _, created = PeriodicTask.objects.get_or_create(name=name, defaults=fields)
            self.stdout.write(f"{'created' if created else 'exists'}: {name}")
