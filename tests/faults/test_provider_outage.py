"""The provider answers 503 to every refresh for four simulated days, while the hourly sweep and
the daily run go on: the breaker bounds the token requests, nobody is flipped to reconnect or
emailed, operators are told once, and everything recovers by itself when the provider does.

Time is simulated (time-machine moves this process's clock, the sandbox's included), so the
clock check, which compares it with the database's, is off here.
"""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from integrations import breaker, http, proactive
from integrations.conf import settings as app_settings
from integrations.models import Integration, OAuthCredential
from sandbox import ops
from tests.conftest import create_integration

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]
INTEGRATIONS = 60
HOURS = 96


def sweep(hour):
    """What beat runs: the hourly sweep, and at 02:00 (hour 0 here) the daily run."""
    proactive.run(timedelta(minutes=75), concurrency=4)
    if hour % 24 == 0:
        proactive.run(timedelta(hours=24), concurrency=4)


def test_it_weathers_a_four_day_provider_outage(sandbox, settings, django_user_model,
                                                 monkeypatch, caplog):
    settings.INTEGRATIONS_MAX_CLOCK_SKEW_SECONDS = 0
    monkeypatch.setattr(http, "wait", lambda seconds: None)  # backoff waits are not the point
    holder = django_user_model.objects.create_user("agency", "agency@example.com", "pw")
    owners = [django_user_model.objects.create_user(f"owner{n}", f"o{n}@example.com", "pw")
              for n in range(20)]
    for n, (access, refresh, _) in enumerate(ops.issue_grants(holder, INTEGRATIONS)):
        create_integration(owners[n % 20], "sandbox", access_token=access, refresh_token=refresh,
                           expires_in=600)
    OAuthCredential.objects.update(last_refreshed_at=timezone.now() - timedelta(hours=1))
    sandbox.inject("token", "503", None)

    start = timezone.now()
    per_hour = []
    with time_machine.travel(start, tick=False) as traveller, caplog.at_level(logging.ERROR):
        for hour in range(HOURS):
            traveller.move_to(start + timedelta(hours=hour))
            before = sandbox.token_requests("refresh_token")
            sweep(hour)
            per_hour.append(sandbox.token_requests("refresh_token") - before)
        flipped = Integration.objects.exclude(status=Integration.Status.ACTIVE).count()
        print(f"\n[faults] token requests: first hour {per_hour[0]}, then at most "
              f"{max(per_hour[1:])} an hour, {sum(per_hour)} in {HOURS} h; flipped {flipped}")

        # The failures that open the breaker (3 attempts each, a few more in flight on 4
        # threads), then one probe an hour.
        assert per_hour[0] <= (app_settings.INTEGRATIONS_BREAKER_FAILURES + 4) * 3
        assert max(per_hour[1:]) <= 1
        assert flipped == 0 and mail.outbox == []
        assert caplog.text.count("is failing for many accounts") == 1  # operators told once
        assert breaker.is_open("sandbox")

        sandbox.clear()  # the provider is back
        for hour in range(HOURS, HOURS + 2):
            traveller.move_to(start + timedelta(hours=hour))
            sweep(hour)
        recovered = OAuthCredential.objects.filter(
            last_refreshed_at__gte=start + timedelta(hours=HOURS)).count()
    assert recovered == INTEGRATIONS
    assert not breaker.is_open("sandbox")
    assert set(Integration.objects.values_list("status", flat=True)) == {"active"}
    assert OAuthCredential.objects.filter(refresh_failures__gt=0).count() == 0
    assert mail.outbox == []
