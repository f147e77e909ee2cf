"""Replying from the pages: post, edit and delete on a location's page, answer many from the
unanswered reviews; a refusal brings the page back with the typed text and the reason."""

import pytest

from accounts.adapters import TeamAdapter

from gbp.models import GbpReview
from tests.helpers import page_text


def unanswered(integration, n=1):
    return list(GbpReview.objects.filter(location__integration=integration, reply_comment="")
                .select_related("location")[:n])


def reply_url(review, action="reply/"):
    return f"/integrations/gbp/{review.location.integration_id}/reviews/{review.pk}/{action}"


def test_it_posts_a_reply_and_shows_it(client, synced, sandbox):
    review, = unanswered(synced)
    response = client.post(reply_url(review), {"text": "Thank you, come again!"})
    location = f"/integrations/gbp/{synced.pk}/locations/{review.location_id}/"
    assert response.status_code == 302 and response["Location"] == f"{location}#review-{review.pk}"
    assert GbpReview.objects.get(pk=review.pk).reply_comment == "Thank you, come again!"
    html = page_text(client.get(location))
    assert "Reply posted." in html and "Thank you, come again!" in html
    assert sandbox.calls("reply") == 1


def test_it_edits_and_deletes_a_reply(client, synced, sandbox):
    review, = unanswered(synced)
    client.post(reply_url(review), {"text": "Thanks!"})
    client.post(reply_url(review), {"text": "Thanks a lot!"})
    assert GbpReview.objects.get(pk=review.pk).reply_comment == "Thanks a lot!"
    client.post(reply_url(review, "reply/delete/"))
    assert GbpReview.objects.get(pk=review.pk).reply_comment == ""
    assert sandbox.calls("reply") == 3


def test_it_keeps_the_typed_text_when_google_refuses(client, synced, sandbox):
    review, = unanswered(synced)
    sandbox.inject("reply", "429")
    response = client.post(reply_url(review), {"text": "A long, careful answer"})
    html = page_text(response)
    assert response.status_code == 200 and "quota" in html
    assert ">A long, careful answer</textarea>" in html
    assert GbpReview.objects.get(pk=review.pk).reply_comment == ""
    # Sent again from the page that came back, it returns to the location, not the POST's URL.
    location = f"/integrations/gbp/{synced.pk}/locations/{review.location_id}/"
    assert f'name="next" value="{location}"' in html
    assert f'name="next" value="{reply_url(review)}' not in html


def test_it_says_when_google_refuses_permission(client, synced, sandbox):
    review, = unanswered(synced)
    sandbox.inject("reply", "403")
    html = page_text(client.post(reply_url(review), {"text": "Hello"}))
    assert "refused permission" in html and ">Hello</textarea>" in html


def test_it_returns_to_the_page_it_came_from(client, synced, sandbox):
    review, = unanswered(synced)
    back = f"/integrations/gbp/{synced.pk}/reviews/?stars=5"
    response = client.post(reply_url(review), {"text": "Thanks", "next": back})
    assert response["Location"] == f"{back}#review-{review.pk}"
    response = client.post(reply_url(review), {"text": "Thanks", "next": "https://evil.example/"})
    assert response["Location"].startswith(f"/integrations/gbp/{synced.pk}/locations/")


def test_it_answers_many_at_once(client, synced, sandbox):
    first, second, third = unanswered(synced, 3)
    url = f"/integrations/gbp/{synced.pk}/reviews/"
    response = client.post(url, {f"reply-{first.pk}": "One", f"reply-{second.pk}": "Two",
                                 f"reply-{third.pk}": "  "})
    assert response.status_code == 302
    assert "2 replies posted." in page_text(client.get(url))
    assert [GbpReview.objects.get(pk=r.pk).reply_comment for r in (first, second, third)] == [
        "One", "Two", ""]


def test_it_keeps_what_was_not_sent_after_a_quota_refusal(client, synced, sandbox):
    first, second = unanswered(synced, 2)
    sandbox.inject("reply", "429")
    html = page_text(client.post(f"/integrations/gbp/{synced.pk}/reviews/",
                                 {f"reply-{first.pk}": "One", f"reply-{second.pk}": "Two"}))
    assert "2 replies were not posted" in html
    assert ">One</textarea>" in html and ">Two</textarea>" in html
    assert sandbox.calls("reply") == 1  # the second was not tried


def test_it_is_a_404_for_someone_elses_review(client, synced, sandbox, other):
    review, = unanswered(synced)
    client.force_login(other)
    assert client.post(reply_url(review), {"text": "Hi"}).status_code == 404
    assert sandbox.calls("reply") == 0


def test_it_needs_csrf(synced, sandbox, owner):
    from django.test import Client

    review, = unanswered(synced)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(reply_url(review), {"text": "Hi"}).status_code == 403


class NoReplies(TeamAdapter):
    def user_may(self, user, integration, action):
        return action != "reply" and super().user_may(user, integration, action)


def test_it_respects_the_adapters_reply_permission(client, synced, sandbox, settings):
    review, = unanswered(synced)
    settings.INTEGRATIONS_ADAPTER = f"{__name__}.NoReplies"
    assert client.post(reply_url(review), {"text": "Hi"}).status_code == 403
    html = page_text(client.get(f"/integrations/gbp/{synced.pk}/locations/{review.location_id}/"))
    assert "Post reply" not in html
