"""gbp.replies over real HTTP against the sandbox: replies saved, edited and deleted at Google
and on the local review at once, every failure one plain-words ReplyError with nothing stored,
and the next sync keeping what was written."""

import json

import pytest

from gbp import replies
from gbp.models import GbpReview
from gbp.replies import MAX_REPLY_BYTES, ReplyError, delete_reply, save_replies, save_reply
from gbp.sync import GbpSyncService
from sandbox.models import Reply


@pytest.fixture
def unreplied(synced):
    return GbpReview.objects.filter(location__integration=synced, reply_comment="").first()


@pytest.fixture
def replied(synced):
    return GbpReview.objects.exclude(reply_comment="").filter(location__integration=synced).first()


def at_sandbox(review):
    return Reply.objects.filter(location_id=review.location.location_id,
                                review_id=review.review_id).first()


def unchanged(review):
    stored = GbpReview.objects.get(pk=review.pk)
    return (stored.reply_comment, stored.reply_update_time) == (review.reply_comment,
                                                                review.reply_update_time)


def test_it_saves_a_reply_at_google_and_here(synced, sandbox, unreplied):
    review = save_reply(synced, unreplied, "  Thank you for coming!\n")
    written = at_sandbox(unreplied)
    assert (written.comment, written.deleted) == ("Thank you for coming!", False)
    stored = GbpReview.objects.get(pk=unreplied.pk)
    assert stored.reply_comment == review.reply_comment == "Thank you for coming!"
    assert stored.reply_update_time == review.reply_update_time == written.update_time
    assert sandbox.calls("reply") == 1


def test_it_edits_a_reply(synced, sandbox, replied):
    save_reply(synced, replied, "Thanks!")
    review = save_reply(synced, replied, "Thanks, see you soon!")
    assert at_sandbox(replied).comment == "Thanks, see you soon!"
    assert GbpReview.objects.get(pk=replied.pk).reply_comment == review.reply_comment == (
        "Thanks, see you soon!")


def test_it_deletes_a_reply(synced, sandbox, replied):
    review = delete_reply(synced, replied)
    assert at_sandbox(replied).deleted
    stored = GbpReview.objects.get(pk=replied.pk)
    assert (stored.reply_comment, stored.reply_update_time) == ("", None) == (
        review.reply_comment, review.reply_update_time)


def test_the_next_sync_keeps_a_reply_and_reads_it_from_google(synced, sandbox, unreplied):
    saved = save_reply(synced, unreplied, "Thank you!")
    # Even a stale local copy is put right: the reply moved the review's updateTime, so the
    # next (incremental) sync reads the review again.
    GbpReview.objects.filter(pk=unreplied.pk).update(reply_comment="stale")
    result = GbpSyncService().sync(synced)
    assert result.ok, result.message
    stored = GbpReview.objects.get(pk=unreplied.pk)
    assert (stored.reply_comment, stored.reply_update_time) == ("Thank you!",
                                                                saved.reply_update_time)
    assert stored.update_time == saved.reply_update_time


def test_a_deleted_reply_stays_deleted_after_syncs(synced, sandbox, replied, settings):
    delete_reply(synced, replied)
    assert GbpSyncService().sync(synced).ok
    settings.GBP_FULL_REVIEW_SYNC_DAYS = 0  # and after a full listing too
    assert GbpSyncService().sync(synced).ok
    stored = GbpReview.objects.get(pk=replied.pk)
    assert (stored.reply_comment, stored.reply_update_time) == ("", None)


def test_it_says_the_quota_is_used_up_and_stores_nothing(synced, sandbox, unreplied):
    sandbox.inject("reply", "429", retry_after=7)
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, "Thank you!")
    assert error.value.code == "quota" and error.value.retry_after == 7
    assert "quota" in error.value.message and "not saved" in error.value.message
    assert sandbox.calls("reply") == 1  # not waited out: a person is waiting
    assert unchanged(unreplied) and at_sandbox(unreplied) is None


@pytest.mark.parametrize("kind,options,code", [
    ("403", {}, "permission"),
    ("status", {"status": 404, "content_type": "application/json",
                "body": '{"error": {"code": 404, "status": "NOT_FOUND"}}'}, "gone"),
    ("status", {"status": 400, "content_type": "application/json",
                "body": '{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}'}, "invalid"),
    ("status", {"status": 409, "content_type": "application/json", "body": "{}"}, "refused"),
])
def test_it_names_what_google_refused(synced, sandbox, replied, kind, options, code):
    sandbox.inject("reply", kind, **options)
    with pytest.raises(ReplyError) as error:
        delete_reply(synced, replied)
    assert error.value.code == code and "not deleted" in error.value.message
    assert unchanged(replied) and at_sandbox(replied) is None
    assert sandbox.calls("reply") == 1


def test_it_says_a_review_is_gone_and_keeps_its_row(synced, sandbox, unreplied):
    ghost = GbpReview.objects.create(location=unreplied.location, review_id="r999999999999",
                                     comment="Gone since")
    with pytest.raises(ReplyError) as error:
        save_reply(synced, ghost, "Thank you!")
    assert error.value.code == "gone" and error.value.http_status == 404
    assert "no longer on Google" in error.value.message
    assert GbpReview.objects.filter(pk=ghost.pk, reply_comment="").exists()


def test_it_retries_a_lasting_outage_and_says_try_again(synced, sandbox, unreplied):
    sandbox.inject("reply", "503", times=None)
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, "Thank you!")
    assert error.value.code == "transient" and error.value.http_status == 503
    assert sandbox.calls("reply") == 3  # GBP_API_ATTEMPTS
    assert unchanged(unreplied)


def test_it_rides_out_one_500(synced, sandbox, unreplied):
    sandbox.inject("reply", "500")
    assert save_reply(synced, unreplied, "Thank you!").reply_comment == "Thank you!"
    assert sandbox.calls("reply") == 2


def test_it_refreshes_once_on_a_401_and_saves(synced, sandbox, owner, unreplied):
    before = sandbox.token_requests("refresh_token")
    sandbox.expire_tokens(owner)  # the sandbox says expired; we still think it is valid
    assert save_reply(synced, unreplied, "Thank you!").reply_comment == "Thank you!"
    assert sandbox.token_requests("refresh_token") - before == 1
    assert sandbox.calls("reply") == 2 and at_sandbox(unreplied).comment == "Thank you!"


def test_it_asks_to_reconnect_after_a_revoked_grant(synced, sandbox, owner, unreplied):
    sandbox.revoke_grant(owner)
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, "Thank you!")
    assert error.value.code == "reauth" and "reconnect" in error.value.message
    assert unchanged(unreplied)


@pytest.mark.parametrize("text", ["", "  \n\t ", "é" * 2048 + "x", "😀" * 1025])
def test_it_refuses_an_empty_or_too_long_reply_without_asking_google(synced, sandbox,
                                                                   unreplied, text):
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, text)
    assert error.value.code == "invalid"
    assert sandbox.calls("reply") == 0 and unchanged(unreplied)


def test_it_takes_exactly_the_limit(synced, sandbox, unreplied):
    text = "é" * (MAX_REPLY_BYTES // 2)
    assert save_reply(synced, unreplied, text).reply_comment == text


def test_it_keeps_google_text_and_tokens_out_of_its_messages(synced, sandbox, unreplied, caplog):
    token = synced.credential.access_token
    echoed = json.dumps({"error": {"code": 403, "status": "PERMISSION_DENIED",
                                   "message": f"Bearer {token} is not allowed here"}})
    sandbox.inject("reply", "status", status=403, body=echoed, content_type="application/json")
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, "Thank you!")
    assert error.value.code == "permission"
    for text in (str(error.value), error.value.message, caplog.text):
        assert token not in text and "not allowed here" not in text
    # The leak detector (tests/leaks.py) checks every log line of this test too.


def test_it_refuses_a_review_of_another_integration(synced, sandbox, unreplied, make_integration,
                                                    owner):
    stranger = make_integration(owner, provider="sandbox")
    with pytest.raises(ValueError):
        save_reply(stranger, unreplied, "Thank you!")
    assert sandbox.calls("reply") == 0


def test_it_stops_a_batch_at_the_quota(synced, sandbox):
    reviews = list(GbpReview.objects.filter(location__integration=synced)[:3])
    sandbox.inject("reply", "status", status=429, times=1, content_type="application/json",
                   body='{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}')
    results = save_replies(synced, [(review, "Thanks!") for review in reviews])
    assert [error.code for _, error in results] == ["quota"] * 3
    assert sandbox.calls("reply") == 1


def test_it_saves_a_batch(synced, sandbox):
    reviews = list(GbpReview.objects.filter(location__integration=synced)[:2])
    results = save_replies(synced, [(reviews[0], "One"), (reviews[1], "")])
    assert results[0][1] is None and results[0][0].reply_comment == "One"
    assert results[1][1].code == "invalid"
    assert replies.MAX_WAIT > 0 and sandbox.calls("reply") == 1


def test_it_does_not_keep_a_person_waiting_for_a_slot(synced, sandbox, unreplied):
    from gbp import limiter

    limiter.slow_down("reviews", 60)  # another 429 paused the reviews API for a minute
    with pytest.raises(ReplyError) as error:
        save_reply(synced, unreplied, "Thank you!")
    assert error.value.code == "quota" and error.value.retry_after is None
    assert sandbox.calls("reply") == 0 and unchanged(unreplied)


def test_it_takes_an_unreadable_200_as_saved(synced, sandbox, unreplied):
    sandbox.inject("reply", "malformed_json")
    review = save_reply(synced, unreplied, "Thank you!")
    assert review.reply_comment == "Thank you!" and review.reply_update_time is not None
    assert GbpReview.objects.get(pk=unreplied.pk).reply_comment == "Thank you!"
