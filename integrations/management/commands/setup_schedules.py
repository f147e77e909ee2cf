"""Create the Celery beat schedules (django-celery-beat), idempotently; editable in admin.

The core's two refresh schedules, plus whatever installed consumer apps register (the GBP sync).
"""

import json

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from integrations import consumers
from integrations.consumers import Schedule

SCHEDULES = [
    Schedule("Proactive token refresh (daily)", "integrations.tasks.refresh_expiring_tokens",
             {"within_seconds": 24 * 3600}, crontab={"minute": "0", "hour": "2"}),
    Schedule("Token sweep (hourly, tokens expiring before the next sweep)",
             "integrations.tasks.refresh_expiring_tokens", {"within_seconds": 75 * 60},
             interval={"every": 1, "period": IntervalSchedule.HOURS}),
    Schedule("Notices to owners (every 5 minutes: deliveries that failed are tried again)",
             "integrations.tasks.deliver_notices",
             interval={"every": 5, "period": IntervalSchedule.MINUTES}),
]


class Command(BaseCommand):
    help = "Create or update the beat schedules for refresh and sync (safe to run again)."

    def handle(self, *args, **options):
        schedules = [*SCHEDULES, *(s for c in consumers.all_consumers() for s in c.schedules)]
        for schedule in schedules:
            fields = {"task": schedule.task, "kwargs": json.dumps(schedule.kwargs)}
            if schedule.crontab:
                fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    day_of_week="*", day_of_month="*", month_of_year="*", **schedule.crontab)
                fields["interval"] = None
            else:
                fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                    **schedule.interval)
                fields["crontab"] = None
            # An existing schedule is left alone: an operator may have edited it in admin.
            _, created = PeriodicTask.objects.get_or_create(name=schedule.name, defaults=fields)
            self.stdout.write(f"{'created' if created else 'exists'}: {schedule.name}")
