"""Replying to a review, and editing or deleting the reply, through Google's v4 API.

    review = save_reply(integration, review, "Thank you!")   # updateReply (PUT .../reply)
    review = delete_reply(integration, review)                # deleteReply (DELETE .../reply)

Each call goes through GbpApi.call like the sync's: its slot at the rate limiter for the
"reviews" API (waiting at most MAX_WAIT seconds: a person is waiting), the token service's one
forced refresh on a 401, bounded retries on 5xx and network errors. A 429 is not waited out:
the person hears at once that Google's quota is used up (the limiter still slows everyone
down). On success the reply is stored on the local review at once (what Google answered); the
next sync reads the review again (the reply moves its updateTime) and reconciles it.

Every failure is one ReplyError(code, message) with a translated, plain-words message and
nothing stored locally; the caller keeps what was typed. The codes:

    invalid     empty or too long (checked here first, without a request), or Google's 400
    quota       Google's quota is used up right now (`retry_after` seconds when known)
    permission  Google refused (403)
    gone        the review is no longer on Google (404); the local row stays until a full
                sync's complete listing removes it (a 404 alone is not proof enough to delete)
    reauth      the connection must be reconnected (the token service says so, or Google
                refused the token even after a refresh)
    transient   Google or the network failed for now (5xx, timeouts, a token refresh that failed)
    refused     any other answer from Google (its status in `http_status`)

Messages and log lines carry no token and none of Google's text: codes, ids and statuses only.
"""

import logging

from django.utils import timezone
from django.utils.translation import gettext

from integrations import tokens
from integrations.providers import registry

from . import fields, limiter
from .client import V4, BadData, GbpApi, QuotaExhausted, SyncError
from .models import GbpReview
from .providers import is_gbp

log = logging.getLogger("gbp.replies")

MAX_REPLY_BYTES = 4096  # Google's limit on ReviewReply.comment, in UTF-8 bytes
MAX_WAIT = 10.0  # seconds a reply may wait for its slot at the rate limiter


class ReplyError(Exception):
    """A reply not saved (or not deleted): `code` (see the module), `message` in plain words
    (translated), `retry_after` seconds when known, `http_status` when Google answered."""

    def __init__(self, code, message, *, retry_after=None, http_status=None):
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.http_status = http_status
        super().__init__(f"{code}: {message}")


def clean_reply(text) -> str:
    """The reply as it is sent: stripped, not empty, at most MAX_REPLY_BYTES; else ReplyError."""
    text = (text if isinstance(text, str) else "").replace("\x00", "").strip()
    if not text:
        raise ReplyError("invalid", gettext("Write a reply before saving it."))
    if len(text.encode("utf-8")) > MAX_REPLY_BYTES:
        raise ReplyError("invalid", gettext(
            "The reply is too long: Google takes at most 4096 bytes (a letter with an accent "
            "takes two, an emoji four). Shorten it and save it again."))
    return text


def save_reply(integration, review: GbpReview, text: str) -> GbpReview:
    """Reply to `review` (or replace its reply) with `text`; the review, stored with the reply."""
    comment = clean_reply(text)
    body = _send(integration, review, "PUT", {"comment": comment})
    if not isinstance(body, dict):  # a 200 we could not read: Google took the reply
        body = {}
    try:
        stored = fields.text(body.get("comment"), 0, "the reply") or comment
        updated = fields.timestamp(body.get("updateTime"), "the reply's time")
    except BadData:
        stored, updated = comment, None
    return _store(review, stored, updated or timezone.now())


def delete_reply(integration, review: GbpReview) -> GbpReview:
    """Delete the reply to `review` (deleting none is no error); the review, stored without."""
    _send(integration, review, "DELETE")
    return _store(review, "", None)


def save_replies(integration, pairs) -> list:
    """[(review, ReplyError or None)] for [(review, text)], one after another; after a quota
    or reconnect error the rest are not tried (they get the same error)."""
    results, stop = [], None
    for review, text in pairs:
        if stop is not None:
            results.append((review, stop))
            continue
        try:
            results.append((save_reply(integration, review, text), None))
        except ReplyError as exc:
            results.append((review, exc))
            if exc.code in ("quota", "reauth"):
                stop = exc
    return results


# --- the request ----------------------------------------------------------------------------

def _reply_path(integration, review) -> str:
    """v4/accounts/*/locations/*/reviews/*/reply (the names were checked when stored)."""
    location = review.location
    if location.integration_id != integration.pk:
        raise ValueError(f"review {review.pk} is not of integration {integration.pk}")
    return (f"v4/{location.account.name}/locations/{location.location_id}"
            f"/reviews/{review.review_id}/reply")


def _api(integration) -> GbpApi:
    provider = registry.find(integration.provider)
    if not is_gbp(provider):
        raise ValueError(f"provider {integration.provider!r} is not Google Business Profile")
    api = GbpApi(integration, provider)
    api.quota_retries = 0  # a person is waiting: say so at the first 429
    api.max_wait = MAX_WAIT
    return api


def _send(integration, review, method, body=None):
    """Google's answer (None: a 200 we could not read), or ReplyError."""
    path = _reply_path(integration, review)
    api = _api(integration)
    request = V4(method, f"{api.reviews_base}{path}", body)
    saving = method == "PUT"
    what = "save" if saving else "delete"
    try:
        return api.call("reviews", lambda: request)
    except BadData:  # only a 200 whose body is no JSON: Google did take it
        log.info("integration %s: reply %s of review %s: answer unreadable, taken as done",
                 integration.pk, what, review.pk)
        return None
    except Exception as exc:  # noqa: BLE001 - each one becomes a ReplyError or goes on
        error = _reply_error(exc, saving)
        if error is None:
            raise
        log.info("integration %s: reply %s of review %s failed: %s (%s)", integration.pk,
                 what, review.pk, error.code, error.http_status or getattr(exc, "code", "-"))
        raise error from None


def _reply_error(exc, saving) -> ReplyError | None:
    """The ReplyError for what GbpApi.call raised (None: not one of ours, let it go on)."""
    if isinstance(exc, QuotaExhausted):
        code, extra = "quota", {"retry_after": exc.retry_after}
    elif isinstance(exc, limiter.Busy):  # our own pace for Google's quota is full for a while
        code, extra = "quota", {}
    elif isinstance(exc, tokens.ReauthRequired):
        code, extra = "reauth", {}
    elif isinstance(exc, tokens.TokenError):  # RefreshFailed: no fresh token this time
        code, extra = "transient", {"retry_after": getattr(exc, "retry_after", None)}
    elif isinstance(exc, SyncError):
        status = exc.http_status
        extra = {"http_status": status}
        if status is None or status >= 500:  # the network, after the retries; an outage
            code = "transient"
        else:
            code = {401: "reauth", 403: "permission", 404: "gone", 400: "invalid"}.get(
                status, "refused")
    else:
        return None
    outcome = (gettext("The reply was not saved.") if saving
               else gettext("The reply was not deleted."))
    return ReplyError(code, f"{outcome} {_reason(code, extra.get('http_status'))}", **extra)


def _reason(code, status=None) -> str:
    """Why, in plain words (in the active language)."""
    if code == "quota":
        return gettext("Google's quota for replies is used up right now; try again in a few "
                       "minutes.")
    if code == "reauth":
        return gettext("Google no longer accepts this connection: reconnect the account, then "
                       "try again.")
    if code == "permission":
        return gettext("Google refused permission: this account may not manage this "
                       "location's reviews, or the project has no access to the reviews API.")
    if code == "gone":
        return gettext("This review is no longer on Google. It stays here until the next full "
                       "sync removes it.")
    if code == "invalid":
        return gettext("Google did not accept the reply as written; check its length and try "
                       "again.")
    if code == "refused":
        return gettext("Google refused the request (HTTP {status}).").format(status=status)
    return gettext("Google is not answering properly right now; try again in a moment.")


# --- the local row --------------------------------------------------------------------------

def _store(review, comment, updated) -> GbpReview:
    """The reply on the local row at once (only its two fields: a sync may be writing the
    rest); the next sync reconciles it with what Google then lists."""
    review.reply_comment, review.reply_update_time = comment, updated
    GbpReview.objects.filter(pk=review.pk).update(reply_comment=comment,
                                                  reply_update_time=updated)
    return review
