"""One clock: a process whose clock is off from the database's neither refreshes nor hands out a
token (tests shift this process's clock with time-machine; the database's clock stays true)."""

from contextlib import contextmanager

import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations import clock, tokens
from integrations.models import OAuthCredential


@contextmanager
def process_clock(offset):
    """This process's clock off by `offset` (measured afresh, as a process started so would)."""
    with time_machine.travel(timezone.now() + offset):
        clock.forget()
        yield


def test_it_agrees_with_the_database_on_a_true_clock(db):
    assert abs(clock.skew(force=True)) < 2
    clock.check()


@pytest.mark.parametrize("offset", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_it_refuses_to_refresh_with_a_skewed_clock(connected, sandbox, offset, caplog):
    before = OAuthCredential.objects.get(integration=connected)
    with process_clock(offset), caplog.at_level(logging.ERROR):
        for _ in range(3):
            with pytest.raises(tokens.RefreshFailed) as refused:
                tokens.ensure_fresh(connected, force=True)
    assert refused.value.code == "clock_skew" and refused.value.kind == "operator"
    assert sandbox.token_requests("refresh_token") == 0
    after = OAuthCredential.objects.get(integration=connected)
    assert (after.lease_owner, after.access_token) == ("", before.access_token)
    assert caplog.text.count("clock is 600.") == 1  # said once a minute, not per refusal


def test_it_never_hands_out_a_token_that_expired_by_the_databases_clock(connected, sandbox):
    OAuthCredential.objects.filter(integration=connected).update(
        expires_at=timezone.now() - timedelta(minutes=4))
    with process_clock(-timedelta(minutes=10)):
        with pytest.raises(tokens.RefreshFailed):  # it would look valid for 6 more minutes
            tokens.ensure_fresh(connected)


def test_the_command_refuses_to_run_on_a_skewed_clock(connected, sandbox):
    with process_clock(timedelta(minutes=10)), pytest.raises(CommandError) as refused:
        call_command("refresh_tokens")
    assert refused.value.returncode == 2 and "clock is 600" in str(refused.value)
    assert sandbox.token_requests("refresh_token") == 0
