""""Sync now" where Celery would run the task in-process (the embedded default): the sync runs on a
background thread (GBP_SYNC_IN_THREAD), the POST returns at once and the page shows the same
progress as with a worker; one thread per integration; its errors logged without their text; its
database connection closed. And a successful sync's summary in plain words (gbp.result)."""

import threading

import pytest
from django.db import connection as django_connection
from django.utils import translation

from gbp import state as sync_state
from gbp import tasks
from gbp.models import GbpSyncState
from gbp.result import SUMMARY_COUNTS, SyncResult, english_text, summary_text
from gbp.run import Run
from gbp.sync import GbpSyncService
from integrations import consumers, http
from integrations.providers import registry
from tests.helpers import page_text
from tools import messages

WAIT = 60  # seconds a test waits for a sync thread at most


class ConnectionSpy:
    """gbp.tasks' `connection`, recording the threads that closed theirs."""

    def __init__(self):
        self.closed_in = []

    def __getattr__(self, name):
        return getattr(django_connection, name)

    def close(self):
        self.closed_in.append(threading.current_thread().name)
        django_connection.close()


@pytest.fixture
def in_thread(settings, monkeypatch):
    settings.GBP_SYNC_IN_THREAD = True
    settings.GBP_BACKFILL_DAYS = 7
    monkeypatch.setattr(http, "wait", lambda s: None)
    assert tasks.runs_in_thread()  # the test settings run tasks eagerly
    spy = ConnectionSpy()
    monkeypatch.setattr(tasks, "connection", spy)
    yield spy
    for thread in threading.enumerate():  # none may outlive the test's database
        if thread.name.startswith("gbp-sync-"):
            thread.join(WAIT)


@pytest.fixture
def gate(monkeypatch):
    """Holds every sync at the start of its work (the lease taken, the state running) until
    `gate.open.set()`; `gate.entered` is set when one gets there."""

    class Gate:
        entered, open = threading.Event(), threading.Event()

    execute = Run.execute

    def held(run):
        Gate.entered.set()
        assert Gate.open.wait(WAIT), "the test never let the sync go on"
        return execute(run)

    monkeypatch.setattr(Run, "execute", held)
    yield Gate
    Gate.open.set()  # a failed test must not leave a sync thread waiting


def sync_threads(integration):
    return [t for t in threading.enumerate() if t.name == f"gbp-sync-{integration.pk}"]


def join(integration):
    for thread in sync_threads(integration):
        thread.join(WAIT)
        assert not thread.is_alive(), "the sync thread did not finish"


def status(client, integration):
    return client.get(f"/integrations/gbp/{integration.pk}/sync/status/").json()


def test_the_post_returns_before_the_sync_finishes_and_the_page_shows_its_progress(
        connected, client, in_thread, gate):
    r = client.post(f"/integrations/gbp/{connected.pk}/sync/")
    assert r.status_code == 302 and r["Location"] == f"/integrations/gbp/{connected.pk}/"
    assert not gate.open.is_set()  # the sync cannot have finished: the POST did not wait for it
    html = page_text(client.get(r["Location"]))
    assert "Sync queued: this page shows its progress" in html
    assert "Sync finished." not in html

    assert gate.entered.wait(WAIT)
    assert tasks.sync_thread(connected.pk) is not None
    now = status(client, connected)
    assert now["syncing"] and now["text"] == "Syncing… listing locations"
    assert GbpSyncState.objects.get(integration=connected).status == "running"
    # A second click while it runs is refused like with a worker: not a second sync.
    html = page_text(client.post(f"/integrations/gbp/{connected.pk}/sync/", follow=True))
    assert "A sync of this account is already under way" in html

    gate.open.set()
    join(connected)
    state = GbpSyncState.objects.get(integration=connected)
    assert state.status == "idle" and state.lease_owner == "" and state.last_error_code == ""
    assert state.last_summary["total"] == 9 and set(state.last_summary) == set(SUMMARY_COUNTS)
    assert status(client, connected)["syncing"] is False
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok"
    assert connected.last_sync_message == english_text(state.last_summary)
    assert connected.last_sync_message.startswith("Synced 9 locations: ")
    assert connected.events.filter(kind="sync").count() == 1
    assert in_thread.closed_in[-1] == f"gbp-sync-{connected.pk}"  # its connection, closed


def test_it_runs_one_thread_per_integration(connected, in_thread, gate):
    assert tasks.enqueue_sync(connected.pk)
    assert gate.entered.wait(WAIT)
    first = tasks.sync_thread(connected.pk)
    assert tasks.enqueue_sync(connected.pk) and tasks.enqueue_sync(connected.pk)
    assert sync_threads(connected) == [first]
    gate.open.set()
    join(connected)
    assert connected.events.filter(kind="sync").count() == 1
    assert tasks.sync_thread(connected.pk) is None

    # Once it has ended, the next sync gets a thread of its own.
    assert tasks.enqueue_sync(connected.pk)
    join(connected)
    assert connected.events.filter(kind="sync").count() == 2


def test_a_click_queued_as_the_thread_finishes_is_synced_by_it(connected, in_thread, monkeypatch):
    """The click's state write came after the thread's sync, its start found the thread still
    alive: the thread sees the click queued and syncs again instead of leaving it waiting."""
    sync_resuming, rounds = tasks._sync_resuming, []

    def then_a_click(integration_id, since):
        sync_resuming(integration_id, since)
        rounds.append(threading.current_thread().name)
        if len(rounds) == 1:
            GbpSyncState.objects.filter(pk=integration_id).update(status="queued")
            assert tasks._start(integration_id, None)  # no second thread

    monkeypatch.setattr(tasks, "_sync_resuming", then_a_click)
    assert tasks.enqueue_sync(connected.pk)
    join(connected)
    assert rounds == [f"gbp-sync-{connected.pk}"] * 2
    assert connected.events.filter(kind="sync").count() == 2
    assert GbpSyncState.objects.get(integration=connected).status == "idle"


def test_it_logs_the_threads_errors_without_their_text(connected, in_thread, monkeypatch,
                                                       caplog):
    said = "ya29.what-a-provider-sent"

    def broken(self, integration, **kwargs):
        raise RuntimeError(said)

    monkeypatch.setattr(GbpSyncService, "sync", broken)
    allowed, _state = sync_state.request_now(connected.pk)
    assert allowed
    with caplog.at_level("ERROR", logger="gbp.tasks"):
        assert tasks.enqueue_sync(connected.pk)
        join(connected)
    [record] = [r for r in caplog.records if r.name == "gbp.tasks"]
    text = record.getMessage()
    assert f"integration {connected.pk}: the GBP sync on a background thread stopped on " \
           "RuntimeError" in text
    assert "in broken" in text  # where, from the traceback's frames
    assert said not in text and record.exc_info is None
    # Not left showing as queued for a worker; the thread gone, its connection closed.
    assert GbpSyncState.objects.get(integration=connected).status == "idle"
    assert tasks.sync_thread(connected.pk) is None
    assert in_thread.closed_in[-1] == f"gbp-sync-{connected.pk}"


def test_a_sync_paused_for_googles_quota_resumes_on_its_thread(connected, in_thread,
                                                                monkeypatch):
    waits, calls = [], []
    sync = GbpSyncService.sync

    def paused_once(self, integration, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            return SyncResult(ok=False, deferred=True, resume_in=42.0)
        return sync(self, integration, **kwargs)

    monkeypatch.setattr(GbpSyncService, "sync", paused_once)
    monkeypatch.setattr(http, "wait", waits.append)
    assert tasks.enqueue_sync(connected.pk)
    join(connected)
    # The pause, waited out once (the sync's own pacing at the rate limiter may wait a moment
    # too: its slots, with the limiter in Redis).
    assert [w for w in waits if w >= 1] == [42.0]
    assert calls == [{"budget_seconds": None}] * 2  # no time budget, as an eager task
    connected.refresh_from_db()
    assert connected.last_sync_status == "ok"


def test_it_syncs_in_the_request_when_turned_off_or_sends_to_a_worker(connected, settings,
                                                                       monkeypatch):
    settings.GBP_SYNC_IN_THREAD = False
    assert not tasks.runs_in_thread()
    settings.GBP_SYNC_IN_THREAD = True
    sent = []
    monkeypatch.setattr(tasks.sync_integration, "delay",
                        lambda integration_id, since=None: sent.append(integration_id))
    conf = tasks.sync_integration.app.conf
    eager, conf.task_always_eager = conf.task_always_eager, False
    try:
        assert not tasks.runs_in_thread()  # a worker runs it
        assert tasks.enqueue_sync(connected.pk) and sent == [connected.pk]
    finally:
        conf.task_always_eager = eager
    assert not sync_threads(connected)


def test_admins_action_syncs_in_the_request(connected, in_thread):
    """A selection of many integrations is synced one after another, not on a thread each."""
    consumer = consumers.for_provider(registry.find(connected.provider))
    consumer.enqueue_sync(connected.pk)
    assert not sync_threads(connected)
    assert connected.events.filter(kind="sync").count() == 1


# --- the summary in words -----------------------------------------------------------------------
COUNTS = {"total": 300, "updated": 12, "metric_values": 27000, "reviews": 6000, "removed": 0,
          "calls": 334}


def test_it_words_the_summary_in_plain_english():
    assert summary_text(COUNTS) == (
        "Synced 300 locations: 12 updated, 27,000 metric values and 6,000 reviews written, "
        "none removed. 334 requests to Google.")
    one = dict.fromkeys(SUMMARY_COUNTS, 1)
    assert summary_text(one) == ("Synced 1 location: 1 updated, 1 metric value and 1 review "
                                 "written, 1 removed. 1 request to Google.")
    none = dict.fromkeys(SUMMARY_COUNTS, 0)
    assert summary_text(none) == ("Synced 0 locations: none updated, 0 metric values and "
                                  "0 reviews written, none removed. 0 requests to Google.")
    assert summary_text({**COUNTS, "removed": 1500}).endswith(
        "1,500 removed. 334 requests to Google.")


@pytest.mark.parametrize("summary", [None, {}, {"total": 3}, {**COUNTS, "calls": "many"},
                                     {**COUNTS, "reviews": -1}, {**COUNTS, "total": None},
                                     ["total"], "Synced 2 location(s)"])
def test_it_says_nothing_without_the_counts(summary):
    assert summary_text(summary) == ""


def test_it_stores_the_english_sentence_whatever_language_is_active():
    with translation.override("de"):
        english = english_text(COUNTS)
    assert english == summary_text(COUNTS)


def test_it_words_the_summary_in_german(settings, tmp_path):
    """With the committed German catalogue (compiled here: the tree's .mo may be older)."""
    compiled = tmp_path / "de" / "LC_MESSAGES" / "django.mo"
    compiled.parent.mkdir(parents=True)
    messages.compile_catalogue(messages.REPO / "gbp/locale/de/LC_MESSAGES/django.po", compiled)
    settings.LOCALE_PATHS = [str(tmp_path)]
    with translation.override("de"):
        assert summary_text(COUNTS) == (
            "300 Standorte synchronisiert: 12 aktualisiert, 27.000 Messwerte und "
            "6.000 Rezensionen geschrieben, nichts entfernt. 334 Anfragen an Google.")
        assert summary_text(dict.fromkeys(SUMMARY_COUNTS, 1)) == (
            "1 Standort synchronisiert: 1 aktualisiert, 1 Messwert und 1 Rezension "
            "geschrieben, 1 entfernt. 1 Anfrage an Google.")
        assert english_text(COUNTS).startswith("Synced 300 locations: 12 updated, 27,000 ")
