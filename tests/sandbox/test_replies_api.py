"""The sandbox's v4 updateReply (PUT .../reply) and deleteReply (DELETE .../reply), over HTTP."""

import json

import pytest
import requests
from requests_oauthlib import OAuth2Session

from sandbox import data
from sandbox.conf import GBP_SCOPE


def token_for(sandbox, user, settings, scopes):
    oauth = OAuth2Session(settings.SANDBOX_CLIENT_ID, scope=scopes, pkce="S256",
                          redirect_uri=f"{sandbox.base_url}/integrations/callback/sandbox/")
    url, _ = oauth.authorization_url(sandbox.url("o/authorize/"))
    token = oauth.fetch_token(sandbox.token_url, authorization_response=sandbox.consent(user, url),
                              client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True)
    return token["access_token"]


@pytest.fixture
def auth(sandbox, owner, settings):
    return {"Authorization": f"Bearer {token_for(sandbox, owner, settings, ['openid', 'email', GBP_SCOPE])}"}


@pytest.fixture
def place(owner):
    """(account id, location id, its reviews) of a location of the owner with reviews."""
    account_id = data.account_ids(owner.username)[0]
    for loc in data.locations(owner.username, account_id):
        location_id = loc["name"].split("/")[1]
        if len(data.reviews(owner.username, location_id)) >= 2:
            return account_id, location_id, data.reviews(owner.username, location_id)
    raise AssertionError("no location with reviews")


def reply_url(sandbox, account_id, location_id, review_id):
    return sandbox.url(f"gbp/v4/accounts/{account_id}/locations/{location_id}/reviews/"
                       f"{review_id}/reply")


def put(sandbox, auth, place, review_id, comment):
    return requests.put(reply_url(sandbox, place[0], place[1], review_id), headers=auth,
                        timeout=10, data=json.dumps({"comment": comment}))


def listed(sandbox, auth, place):
    """The location's reviews by id, from reviews.list and from batchGetReviews."""
    account_id, location_id, _ = place
    one = requests.get(sandbox.url(f"gbp/v4/accounts/{account_id}/locations/{location_id}/reviews"),
                       params={"pageSize": 50}, headers=auth, timeout=10).json()["reviews"]
    batch = requests.post(sandbox.url(f"gbp/v4/accounts/{account_id}/locations:batchGetReviews"),
                          headers=auth, timeout=10, data=json.dumps({
                              "locationNames": [f"accounts/{account_id}/locations/{location_id}"],
                              "pageSize": 50})).json()["locationReviews"]
    by_id = {r["reviewId"]: r for r in one}
    assert by_id == {e["review"]["reviewId"]: e["review"] for e in batch}
    return by_id, [e["review"]["reviewId"] for e in batch]


def test_it_saves_a_reply_and_lists_it_with_the_review(sandbox, auth, place):
    unreplied = place[2][1]  # odd reviews have no generated reply
    assert "reviewReply" not in unreplied
    r = put(sandbox, auth, place, unreplied["reviewId"], "Thanks for coming!")
    assert r.status_code == 200
    assert set(r.json()) == {"comment", "updateTime"} and r.json()["comment"] == "Thanks for coming!"
    reviews, newest_first = listed(sandbox, auth, place)
    review = reviews[unreplied["reviewId"]]
    assert review["reviewReply"] == r.json()
    # The review changed: its updateTime moves on, and a reading newest first finds it first.
    assert review["updateTime"] == r.json()["updateTime"] > unreplied["updateTime"]
    assert newest_first[0] == unreplied["reviewId"]
    assert sandbox.calls("reply") == 1


def test_it_replaces_a_reply(sandbox, auth, place):
    replied = place[2][0]
    assert replied["reviewReply"]["comment"]
    put(sandbox, auth, place, replied["reviewId"], "First")
    r = put(sandbox, auth, place, replied["reviewId"], "Second")
    assert r.status_code == 200
    assert listed(sandbox, auth, place)[0][replied["reviewId"]]["reviewReply"]["comment"] == "Second"


def test_it_deletes_a_generated_reply_for_good(sandbox, auth, place):
    replied = place[2][0]
    url = reply_url(sandbox, place[0], place[1], replied["reviewId"])
    r = requests.delete(url, headers=auth, timeout=10)
    assert (r.status_code, r.json()) == (200, {})
    review = listed(sandbox, auth, place)[0][replied["reviewId"]]
    assert "reviewReply" not in review and review["updateTime"] > replied["updateTime"]
    again = requests.delete(url, headers=auth, timeout=10)  # no reply to delete: nothing changes
    assert (again.status_code, again.json()) == (200, {})
    assert listed(sandbox, auth, place)[0][replied["reviewId"]] == review


@pytest.mark.parametrize("comment", ["", "   \n", None, 42])
def test_it_refuses_an_empty_comment(sandbox, auth, place, comment):
    r = put(sandbox, auth, place, place[2][0]["reviewId"], comment)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_it_takes_4096_bytes_and_no_more(sandbox, auth, place):
    review_id = place[2][1]["reviewId"]
    assert put(sandbox, auth, place, review_id, "é" * 2048).status_code == 200
    r = put(sandbox, auth, place, review_id, "é" * 2048 + "x")
    assert r.status_code == 400 and "4096" in r.json()["error"]["message"]
    assert listed(sandbox, auth, place)[0][review_id]["reviewReply"]["comment"] == "é" * 2048


def test_it_answers_404_for_what_is_not_the_users(sandbox, auth, place, owner, other):
    account_id, location_id, reviews = place
    review_id = reviews[0]["reviewId"]
    other_account = data.account_ids(other.username)[0]
    other_location = data.locations(other.username, other_account)[0]["name"].split("/")[1]
    for url in (reply_url(sandbox, account_id, location_id, "r000000000000"),
                reply_url(sandbox, data.account_ids(owner.username)[1], location_id, review_id),
                reply_url(sandbox, other_account, other_location, review_id)):
        for method in ("put", "delete"):
            r = getattr(requests, method)(url, headers=auth, timeout=10,
                                          data=json.dumps({"comment": "Hi"}))
            assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND", url


def test_it_checks_the_token_and_its_scope(sandbox, owner, settings, place):
    url = reply_url(sandbox, place[0], place[1], place[2][0]["reviewId"])
    assert requests.put(url, data='{"comment": "Hi"}', timeout=10).status_code == 401
    narrow = token_for(sandbox, owner, settings, ["openid", "email"])
    r = requests.put(url, data='{"comment": "Hi"}', timeout=10,
                     headers={"Authorization": f"Bearer {narrow}"})
    assert r.status_code == 403 and "scopes" in r.json()["error"]["message"]


def test_it_answers_405_to_other_methods(sandbox, auth, place):
    url = reply_url(sandbox, place[0], place[1], place[2][0]["reviewId"])
    assert requests.get(url, headers=auth, timeout=10).status_code == 405


@pytest.mark.parametrize("kind,options,status", [
    ("429", {}, 429), ("403", {}, 403), ("500", {}, 500),
    ("status", {"status": 404, "content_type": "application/json",
                "body": '{"error": {"code": 404, "status": "NOT_FOUND"}}'}, 404),
])
def test_it_injects_faults_on_replies(sandbox, auth, place, kind, options, status):
    sandbox.inject("reply", kind, **options)
    review_id = place[2][1]["reviewId"]
    assert put(sandbox, auth, place, review_id, "Hi").status_code == status
    assert "reviewReply" not in listed(sandbox, auth, place)[0][review_id]  # nothing written
    assert put(sandbox, auth, place, review_id, "Hi").status_code == 200  # once only
    assert sandbox.calls("reply") == 2


def test_it_counts_replies_against_the_reviews_quota(sandbox, auth, place, settings):
    settings.SANDBOX_GBP_QUOTA_PER_MINUTE = 2
    review_id = place[2][1]["reviewId"]
    assert put(sandbox, auth, place, review_id, "One").status_code == 200
    listed_reviews = requests.get(
        sandbox.url(f"gbp/v4/accounts/{place[0]}/locations/{place[1]}/reviews"),
        headers=auth, timeout=10)
    assert listed_reviews.status_code == 200
    r = put(sandbox, auth, place, review_id, "Two")
    assert r.status_code == 429 and r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
