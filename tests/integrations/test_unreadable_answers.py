"""A provider answer nobody can read (JSON nested 50,000 deep, bytes that are no text, values of
the wrong type) is a classified failure wherever it arrives: on connect a clear page that stores
nothing, on refresh a transient failure, in the GBP sync a failed item or sync, never a 500 or
an unexpected error."""

import json

import pytest

from gbp.sync import GbpSyncService
from integrations import http, oauth_client, tokens
from integrations.models import Integration, IntegrationEvent, OAuthCredential
from tests.helpers import finish, no_integrations, page_text, start

DEEP = "[" * 50_000
DEEP_OBJECT = '{"a":' * 50_000
# Answered in Latin-1: bytes that are not UTF-8 (nor any encoding JSON allows).
NOT_TEXT, LATIN_1 = "\xe9\xe9[", "application/json; charset=latin-1"


def ctype(body):
    return LATIN_1 if body == NOT_TEXT else "application/json"


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def waits(monkeypatch):
    recorded = []
    monkeypatch.setattr(http, "wait", recorded.append)
    return recorded


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_it_shows_the_connect_error_page_for_a_deeply_nested_token_answer(sandbox, logged_in,
                                                                        owner, body):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("token", "status", status=200, body=body, content_type="application/json")
    r = finish(logged_in, back)
    assert r.status_code == 502
    text = page_text(r)
    assert "The connection did not go through" in text and "Nothing was stored" in text
    assert "RecursionError" not in text and "Traceback" not in text
    assert no_integrations() and not OAuthCredential.objects.exists()


@pytest.mark.parametrize("body", [
    DEEP,
    json.dumps({"sub": "1", "email": [[[["x"]]]]}),
    json.dumps({"error": "server_error", "error_description": [[["nested"]]]}),
])
def test_it_shows_the_connect_error_page_for_an_unreadable_userinfo_answer(sandbox, logged_in,
                                                                          owner, body):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("userinfo", "status", status=200, body=body, content_type="application/json")
    r = finish(logged_in, back)
    # A nested email is only a name of the wrong type: the id is enough to connect.
    if '"sub": "1"' in body:
        assert r.status_code == 302 and Integration.objects.get().external_id == "1"
        return
    assert r.status_code == 502 and "could not read which" in page_text(r)
    assert no_integrations()


class Answer:
    """A provider's answer as the OAuth client reads it."""

    headers = {"Content-Type": "application/json"}
    status_code = 200

    def __init__(self, content):
        self.content = content


@pytest.mark.parametrize("token_type", [{"x": ["y"] * 40}, ["Bearer"], "B" * 33, "", "a\nb", 7])
def test_it_keeps_bearer_for_a_token_type_of_the_wrong_shape(db, token_type):
    answer = Answer(json.dumps({"access_token": "a" * 20, "token_type": token_type}).encode())
    assert oauth_client.parse_token_response(answer, []).token_type == "Bearer"


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, NOT_TEXT])
def test_it_fails_a_refresh_that_gets_an_unreadable_answer_transiently(connected, sandbox,
                                                                       waits, body):
    before = connected.credential
    sandbox.inject("token", "status", times=3, status=200, body=body, content_type=ctype(body))
    with pytest.raises(tokens.RefreshFailed) as failed:
        tokens.ensure_fresh(connected, force=True)
    assert failed.value.kind == "transient" and failed.value.code == "malformed_response"
    assert sandbox.token_requests("refresh_token") == 3  # retried like any transient failure
    cred = OAuthCredential.objects.get(integration=connected)
    assert cred.refresh_token == before.refresh_token and cred.access_token == before.access_token
    assert cred.last_error_code == "malformed_response" and cred.last_error_kind == "transient"
    event = IntegrationEvent.objects.filter(integration=connected, kind="refresh").first()
    assert event.outcome == "transient" and event.error_code == "malformed_response"


def test_it_reads_nothing_it_cannot_parse():
    for content in (DEEP.encode(), DEEP_OBJECT.encode(), b"\xff\xfe\x00[", b"", b"\x00" * 3):
        assert oauth_client.parse_json(Answer(content)) is None
        error = oauth_client.error_from_response(Answer(content), [])
        assert error.kind == "transient" and error.code == "malformed_response"


@pytest.mark.parametrize("endpoint,body", [
    ("accounts", DEEP),
    ("locations", DEEP_OBJECT),
    ("reviews", DEEP),
    ("accounts", NOT_TEXT),
])
def test_it_fails_a_gbp_sync_on_an_unreadable_answer_as_bad_data(connected, sandbox, settings,
                                                                 monkeypatch, endpoint, body):
    settings.GBP_BACKFILL_DAYS = 3
    monkeypatch.setattr(http, "wait", lambda s: None)
    sandbox.inject(endpoint, "status", times=None, status=200, body=body, content_type=ctype(body))
    result = GbpSyncService(concurrency=1).sync(connected)
    assert not result.ok
    assert result.error_code == "bad_data", result.message
    assert "unexpected" not in result.message
    connected.refresh_from_db()
    assert connected.last_sync_status == "error"


def test_it_fails_one_item_whose_fields_cannot_be_read(connected, sandbox, settings,
                                                        monkeypatch):
    settings.GBP_BACKFILL_DAYS = 3
    monkeypatch.setattr(http, "wait", lambda s: None)
    # A batchGetReviews answer whose location name is an object: that reading fails, not the run.
    sandbox.inject("reviews", "status", times=None, status=200,
                   content_type="application/json",
                   body=json.dumps({"locationReviews": [{"name": {"x": 1}, "review": {}}]}))
    result = GbpSyncService(concurrency=1).sync(connected)
    assert result.error_code == "bad_data" and "a review" in result.message
    assert result.locations_total == 9 and result.metric_rows > 0  # the rest was synced


def test_it_labels_a_new_connection_without_reading_an_unreadable_account_list(sandbox, logged_in,
                                                                               owner):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("accounts", "status", status=200, body=DEEP, content_type="application/json")
    assert finish(logged_in, back).status_code == 302
    assert Integration.objects.get().display_name == owner.email  # connected, no label


@pytest.mark.parametrize("body,content_type", [
    ("<!DOCTYPE html><html><p>Service temporarily unavailable</p></html>", "text/html"),
    ("", "application/json"),
    (DEEP, "application/json"),
])
def test_it_deletes_no_review_on_an_unreadable_reviews_answer(connected, sandbox, settings,
                                                               monkeypatch, body, content_type):
    from gbp.models import GbpLocation, GbpReview

    settings.GBP_BACKFILL_DAYS = 3
    monkeypatch.setattr(http, "wait", lambda s: None)
    assert GbpSyncService(concurrency=1).sync(connected).ok
    stored = GbpReview.objects.count()
    assert stored > 0
    GbpLocation.objects.update(reviews_full_synced_at=None)  # the next reading is a full listing
    sandbox.inject("reviews", "status", times=None, status=200, body=body,
                   content_type=content_type)
    result = GbpSyncService(concurrency=1).sync(connected)
    assert result.error_code == "bad_data" and result.deleted == 0
    assert GbpReview.objects.count() == stored  # an answer we cannot read lists nothing
