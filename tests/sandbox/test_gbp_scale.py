"""The sandbox's GBP API at scale: Google's per-minute quota (429 RESOURCE_EXHAUSTED), a latency
setting, the large-account fixture and v4 batchGetReviews."""

import time

import pytest
import requests

from sandbox import data
from sandbox.conf import GBP_SCOPE
from sandbox.models import Call


@pytest.fixture
def agency_token(sandbox, django_user_model):
    """An access token of `agency-120x3`: one account, 120 locations, 3 reviews each."""
    from sandbox import ops

    user = django_user_model.objects.create_user("agency-120x3", "agency@example.com", "pw")
    ops.register_client([f"{sandbox.base_url}/integrations/callback/sandbox/"])
    access, _, _ = ops.issue_grants(user, 1, scope=f"openid email {GBP_SCOPE}")[0]
    return user, access


def batch(sandbox, account, token, **body):
    return requests.post(sandbox.url(f"gbp/v4/{account}/locations:batchGetReviews"), json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_it_answers_429_resource_exhausted_over_the_quota_like_google(sandbox, settings):
    settings.SANDBOX_GBP_QUOTA_PER_MINUTE = 2
    accounts, metrics = sandbox.url("gbp/v1/accounts"), sandbox.url(
        "gbp/v1/locations/1:fetchMultiDailyMetricsTimeSeries")
    answers = [requests.get(accounts, timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]  # every request counts
    error = answers[2].json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert "Requests per minute" in error["message"] and "mybusinessaccountmanagement" in error[
        "message"]
    assert error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert "Retry-After" not in answers[2].headers  # Google sends none
    assert requests.get(metrics, timeout=10).status_code == 401  # another API, its own quota
    assert Call.objects.filter(endpoint="accounts", status=429).count() == 1


def test_it_adds_the_configured_latency_to_every_api_answer(sandbox, settings):
    settings.SANDBOX_GBP_LATENCY_MS = 300
    started = time.monotonic()
    requests.get(sandbox.url("gbp/v1/accounts"), timeout=10)
    assert time.monotonic() - started >= 0.3


def test_it_serves_a_large_account(sandbox, agency_token):
    user, token = agency_token
    (account,) = data.accounts(user.username)
    locations, reviews = data.large(user.username)
    assert (locations, reviews) == (120, 3)
    assert len(data.locations(user.username, account["name"].split("/")[1])) == 120
    assert data.large("agency") == (1000, 20) and data.large("alice") is None
    listed = requests.get(sandbox.url(f"gbp/v1/{account['name']}/locations"),
                          params={"readMask": "name", "pageSize": 100},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert listed["totalSize"] == 120 and len(listed["locations"]) == 100


def test_it_batches_the_reviews_of_many_locations_newest_first(sandbox, agency_token):
    user, token = agency_token
    account = data.accounts(user.username)[0]["name"]
    names = [f"{account}/{loc['name']}" for loc in data.locations(
        user.username, account.split("/")[1])[:50]]
    seen, page_token = [], None
    while True:
        body = {"locationNames": names, "pageSize": 40, "orderBy": "updateTime desc"}
        answer = batch(sandbox, account, token, **body, **(
            {"pageToken": page_token} if page_token else {}))
        assert answer.status_code == 200, answer.text
        seen += answer.json()["locationReviews"]
        page_token = answer.json().get("nextPageToken")
        if not page_token:
            break
    assert len(seen) == 50 * 3 and {e["name"] for e in seen} == set(names)
    times = [e["review"]["updateTime"] for e in seen]
    assert times == sorted(times, reverse=True)


def test_it_refuses_a_batch_it_would_not_answer_at_google(sandbox, agency_token, owner):
    user, token = agency_token
    account = data.accounts(user.username)[0]["name"]
    names = [f"{account}/{loc['name']}" for loc in data.locations(
        user.username, account.split("/")[1])]
    assert batch(sandbox, account, token, locationNames=names[:51]).status_code == 400
    assert batch(sandbox, account, token, locationNames=[]).status_code == 400
    assert batch(sandbox, account, token, locationNames=names[:1],
                 orderBy="updateTime").status_code == 400
    someone_elses = data.accounts(owner.username)[0]["name"]
    other_location = f"{someone_elses}/{data.locations(owner.username, someone_elses.split('/')[1])[0]['name']}"
    assert batch(sandbox, account, token, locationNames=[other_location]).status_code == 404
    assert batch(sandbox, account, "not-a-token", locationNames=names[:1]).status_code == 401
