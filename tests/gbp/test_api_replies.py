"""Replies through the JSON API: PUT and DELETE .../gbp/reviews/{id}/reply, a refusal in the
API's error shape, scoped like every endpoint, and the reviews' filters."""

import pytest

from gbp.models import GbpReview
from tests.helpers import api_call, is_error_shape


def unanswered(integration):
    return GbpReview.objects.filter(location__integration=integration, reply_comment="").first()


def path(review, integration):
    return f"integrations/{integration.pk}/gbp/reviews/{review.pk}/reply"


def test_it_replies_edits_and_deletes(synced, client, sandbox):
    review = unanswered(synced)
    status, body = api_call(client, "PUT", path(review, synced), {"comment": "Thank you!"})
    assert status == 200 and body["reply"]["comment"] == "Thank you!"
    status, body = api_call(client, "PUT", path(review, synced), {"comment": "Thanks again!"})
    assert status == 200 and body["reply"]["comment"] == "Thanks again!"
    status, body = api_call(client, "DELETE", path(review, synced))
    assert status == 200 and body["reply"] is None
    assert GbpReview.objects.get(pk=review.pk).reply_comment == ""
    assert sandbox.calls("reply") == 3


def test_it_says_why_google_refused(synced, client, sandbox):
    review = unanswered(synced)
    sandbox.inject("reply", "429")
    status, error = api_call(client, "PUT", path(review, synced), {"comment": "Hi"})
    assert status == 429 and error["code"] == "google_quota" and is_error_shape(error)
    status, error = api_call(client, "PUT", path(review, synced), {"comment": "   "})
    assert (status, error["code"]) == (422, "invalid_reply")


def test_it_filters_unanswered_reviews(synced, client):
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/reviews?unanswered=true")
    assert status == 200 and page["count"] == GbpReview.objects.filter(
        location__integration=synced, reply_comment="").count()
    assert all(item["reply"] is None for item in page["items"])
    status, page = api_call(client, "GET", f"integrations/{synced.pk}/gbp/reviews?stars=5")
    assert all(item["star_rating"] == 5 for item in page["items"])


def test_it_is_a_404_for_someone_else(synced, client, other, sandbox):
    review = unanswered(synced)
    client.force_login(other)
    status, error = api_call(client, "PUT", path(review, synced), {"comment": "Hi"})
    assert status == 404 and sandbox.calls("reply") == 0
