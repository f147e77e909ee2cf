from django.core.management import call_command
from django_celery_beat.models import PeriodicTask


def test_it_creates_the_schedules_once(db):
    call_command("setup_schedules")
    call_command("setup_schedules")
    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert len(tasks) == 4
    daily = tasks["Proactive token refresh (daily)"]
    assert daily.task == "integrations.tasks.refresh_expiring_tokens"
    assert (daily.crontab.hour, daily.crontab.minute) == ("2", "0")
    assert tasks["Token sweep (hourly, tokens expiring before the next sweep)"].interval.every == 1
    notices = next(t for name, t in tasks.items() if name.startswith("Notices to owners"))
    assert notices.task == "integrations.tasks.deliver_notices"
    assert (notices.interval.every, notices.interval.period) == (5, "minutes")


def test_it_keeps_an_operators_edit(db):
    call_command("setup_schedules")
    PeriodicTask.objects.filter(name__startswith="Proactive").update(enabled=False)
    call_command("setup_schedules")
    assert not PeriodicTask.objects.get(name__startswith="Proactive").enabled
