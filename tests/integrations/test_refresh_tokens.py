"""manage.py refresh_tokens against the sandbox over real HTTP."""

import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from integrations import http, tokens
from integrations.models import OAuthCredential, RefreshRun
from tests.helpers import run_command


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(http, "wait", lambda seconds: None)


def run(*args):
    return run_command("refresh_tokens", *args)


def test_it_refreshes_everything_due_and_says_so(connect_many, sandbox):
    integrations = connect_many(3)
    code, out = run()
    assert code == 0
    assert "refreshed 3, failed 0 (reauth 0, operator 0, transient 0), skipped 0" in out
    assert sandbox.token_requests("refresh_token") == 3
    for cred in OAuthCredential.objects.filter(integration__in=integrations):
        assert cred.expires_at > timezone.now() + timedelta(minutes=50)
    run_row = RefreshRun.objects.get()
    assert run_row.refreshed == 3 and run_row.outcome == "ok"


def test_it_leaves_tokens_that_are_not_due(connect_many, sandbox):
    connect_many(2)
    OAuthCredential.objects.update(expires_at=timezone.now() + timedelta(hours=30))
    code, out = run("--within", "24h")
    assert code == 0 and "refreshed 0" in out
    assert sandbox.token_requests("refresh_token") == 0


def test_it_reports_each_kind_of_failure_and_exits_1(connect_many, sandbox):
    a, b, c, d = connect_many(4)
    sandbox.revoke_grant(c.connected_by)
    sandbox.inject("token", "invalid_client", times=1)   # the first in line: operator
    sandbox.inject("token", "503", times=3)              # the second: transient, 3 attempts
    code, out = run("--concurrency", "1")
    assert code == 1
    assert f"integration {a.pk} sandbox {a.display_name}: operator (invalid_client)" in out
    assert f"integration {b.pk} sandbox {b.display_name}: transient (temporarily_unavailable)" in out
    assert f"integration {c.pk} sandbox {c.display_name}: reauth (invalid_grant)" in out
    assert str(d.pk) + " sandbox" not in out  # quiet when all is well
    assert "refreshed 1, failed 3 (reauth 1, operator 1, transient 1), skipped 0" in out
    for cred in OAuthCredential.objects.all():
        assert cred.access_token not in out


def test_it_skips_what_is_cooling_down(connect_many, sandbox):
    first, second = connect_many(2)
    OAuthCredential.objects.filter(integration=first).update(
        retry_after=timezone.now() + timedelta(minutes=5), last_error_code="http_503")
    code, out = run()
    assert code == 0 and "refreshed 1" in out and "skipped 1" in out


def test_it_dry_runs_without_changing_anything(connect_many, sandbox):
    integrations = connect_many(2)
    before = {c.pk: c.access_token for c in OAuthCredential.objects.all()}
    code, out = run("--dry-run")
    assert code == 0 and "dry run: 2 due (sandbox 2)" in out
    assert f"integration {integrations[0].pk}" not in out  # counts only, unless asked
    code, out = run("--dry-run", "--list")
    assert f"integration {integrations[0].pk} sandbox" in out
    assert sandbox.token_requests("refresh_token") == 0
    assert {c.pk: c.access_token for c in OAuthCredential.objects.all()} == before


def test_it_filters_by_provider_and_integration(connect_many, sandbox):
    one, two, three = connect_many(3)
    assert run("--provider", "gmail")[1].startswith("refreshed 0")
    code, out = run("--integration", str(one.pk), "--integration", str(three.pk))
    assert "refreshed 2" in out
    assert sandbox.token_requests("refresh_token") == 2
    two_cred = OAuthCredential.objects.get(integration=two)
    assert two_cred.expires_at < timezone.now() + timedelta(minutes=11)


def test_it_prints_json(connect_many, sandbox):
    connect_many(2)
    code, out = run("--json")
    summary = json.loads(out)
    assert code == 0 and summary["refreshed"] == 2 and summary["failed"] == 0


@pytest.mark.parametrize("args", [["--within", "soon"], ["--within", "0h"],
                                  ["--concurrency", "0"], ["--provider", "nope"]])
def test_it_exits_2_on_bad_usage(db, args):
    with pytest.raises(CommandError) as error:
        call_command("refresh_tokens", *args)
    assert error.value.returncode == 2


def test_it_never_refreshes_twice_when_two_copies_run_at_once(connect_many, sandbox):
    connect_many(6)
    outputs = []

    def copy():
        try:
            outputs.append(run("--concurrency", "4"))
        finally:
            connection.close()

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in outputs] == [0, 0]
    assert sandbox.token_requests("refresh_token") == 6
    refreshed = sum(int(out.split("refreshed ")[1].split(",")[0]) for _, out in outputs)
    assert refreshed == 6
    # Every stored refresh token is still live (no family was revoked by a reuse).
    for cred in OAuthCredential.objects.select_related("integration"):
        assert tokens.ensure_fresh(cred.integration, force=True).refresh_token != cred.refresh_token


def test_it_enqueues_one_task_per_integration(connect_many, sandbox):
    connect_many(3)  # tasks run eagerly here; test_celery_worker runs a real worker
    code, out = run("--enqueue")
    assert code == 0 and "enqueued 3" in out
    assert sandbox.token_requests("refresh_token") == 3


def test_it_enqueues_one_message_per_batch_with_no_query_per_row(
        connect_many, sandbox, settings, monkeypatch, django_assert_max_num_queries):
    from integrations import tasks

    integrations = connect_many(5)
    settings.INTEGRATIONS_REFRESH_BATCH_SIZE = 2
    sent = []
    monkeypatch.setattr(tasks.refresh_batch, "apply_async",
                        lambda args, **options: sent.append(args[0]))
    with django_assert_max_num_queries(8):  # the same for 5 or 500,000 due
        code, out = run("--enqueue")
    assert code == 0 and "enqueued 5 in 3 batch(es)" in out
    assert sent == [[i.pk for i in integrations[:2]], [i.pk for i in integrations[2:4]],
                    [integrations[4].pk]]
    assert sandbox.token_requests("refresh_token") == 0  # the workers refresh, not the command


def test_it_refreshes_a_batch_in_a_worker(connect_many, sandbox):
    from integrations import tasks

    integrations = connect_many(3)
    outcomes = tasks.refresh_batch([i.pk for i in integrations], 24 * 3600)
    assert outcomes == {"refreshed": 3}
    assert sandbox.token_requests("refresh_token") == 3


def test_it_hands_back_the_rest_of_a_batch_when_its_worker_stops(
        connect_many, sandbox, monkeypatch):
    # (The real worker, SIGTERMed mid-batch: tests/faults/test_worker_kill.py.)
    from integrations import tasks

    integrations = connect_many(3)
    run = RefreshRun.objects.create(mode="enqueue", batches_sent=1)
    sent = []
    monkeypatch.setitem(tasks.refresh_batch.app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.refresh_batch, "apply_async",
                        lambda args, **options: sent.append(args))
    monkeypatch.setattr(tasks, "shutting_down", lambda: True)  # the worker got SIGTERM
    ids = [i.pk for i in integrations]
    assert tasks.refresh_batch(ids, 24 * 3600, run.pk) == {}
    assert sandbox.token_requests("refresh_token") == 0  # nothing new started
    assert sent == [(ids, 24 * 3600, run.pk)]
    run.refresh_from_db()
    assert (run.batches_sent, run.batches_done) == (2, 1)  # health: one batch still to do


def test_it_says_why_it_skips_the_same_way_in_a_dry_run(connect_many, sandbox):
    cooling, recent, due = connect_many(3)
    now = timezone.now()
    OAuthCredential.objects.filter(integration=cooling).update(
        retry_after=now + timedelta(minutes=5), refresh_failures=1)
    OAuthCredential.objects.filter(integration=recent).update(last_refreshed_at=now)
    code, dry = run("--dry-run")
    assert "dry run: 1 due (sandbox 1), skipped 2 (1 cooling down after a failure, " \
           "1 refreshed in the last few minutes)" in dry
    code, real = run()
    assert "refreshed 1, failed 0 (reauth 0, operator 0, transient 0), skipped 2 (1 cooling " \
           "down after a failure, 1 refreshed in the last few minutes)" in real


def test_it_hands_the_rest_to_a_copy_of_the_beat_task_past_its_budget(
        connect_many, sandbox, settings, monkeypatch):
    from integrations import tasks

    integrations = connect_many(5)
    settings.INTEGRATIONS_REFRESH_BATCH_SIZE = 2
    monkeypatch.setattr(tasks, "BUDGET_SECONDS", 0)  # every run stops after one batch
    sent, runs = [], []
    monkeypatch.setattr(tasks.refresh_batch, "apply_async",
                        lambda args, **options: sent.append(args[0]))
    real = tasks.refresh_expiring_tokens.delay
    monkeypatch.setattr(tasks.refresh_expiring_tokens, "delay",
                        lambda *args: runs.append(args) or real(*args))
    tasks.refresh_expiring_tokens(24 * 3600)
    assert [i for batch in sent for i in batch] == [i.pk for i in integrations]
    assert [after for _, after in runs] == [integrations[1].pk, integrations[3].pk]  # no empty run


def test_it_renews_a_grant_idle_too_long_for_its_provider(connect_many, sandbox, settings):
    """A provider whose refresh tokens die unused, and whose access tokens outlive the run's
    window: the run renews a credential on age alone (Provider.max_idle_days)."""
    from tests.helpers import configure_provider

    idle, recent = connect_many(2)
    OAuthCredential.objects.update(expires_at=timezone.now() + timedelta(days=30))
    OAuthCredential.objects.filter(integration=idle).update(
        last_refreshed_at=timezone.now() - timedelta(days=31))
    code, dry = run("--dry-run")
    assert "dry run: 0 due" in dry  # no provider declares it: age alone is no reason
    configure_provider(settings, "sandbox", max_idle_days=30)
    code, dry = run("--dry-run")
    assert "dry run: 1 due" in dry
    code, out = run()
    assert code == 0 and "refreshed 1," in out
    assert sandbox.token_requests("refresh_token") == 1
    idle.credential.refresh_from_db()
    assert idle.credential.last_refreshed_at > timezone.now() - timedelta(minutes=1)


def test_it_uses_a_providers_own_refresh_buffer(connected, sandbox, settings):
    from integrations import tokens
    from tests.helpers import configure_provider

    OAuthCredential.objects.filter(integration=connected).update(
        expires_at=timezone.now() + timedelta(minutes=3))
    configure_provider(settings, "sandbox", refresh_buffer_seconds=60)
    tokens.ensure_fresh(connected)  # 3 minutes left is enough for this provider
    assert sandbox.token_requests("refresh_token") == 0
    configure_provider(settings, "sandbox", refresh_buffer_seconds=0)
    tokens.ensure_fresh(connected)  # the 5-minute default
    assert sandbox.token_requests("refresh_token") == 1
