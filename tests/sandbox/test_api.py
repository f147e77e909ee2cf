"""The sandbox's Google Business Profile-shaped API through google-api-python-client."""

from datetime import date

import httplib2
import pytest
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from requests_oauthlib import OAuth2Session

from sandbox import data
from sandbox.conf import GBP_SCOPE


@pytest.fixture
def access_token(sandbox, owner, settings):
    oauth = OAuth2Session(settings.SANDBOX_CLIENT_ID, scope=["openid", "email", GBP_SCOPE],
                          redirect_uri=f"{sandbox.base_url}/integrations/callback/sandbox/",
                          pkce="S256")
    url, _ = oauth.authorization_url(sandbox.url("o/authorize/"))
    token = oauth.fetch_token(sandbox.token_url, authorization_response=sandbox.consent(owner, url),
                              client_secret=settings.SANDBOX_CLIENT_SECRET, include_client_id=True)
    return token["access_token"]


def api(sandbox, name, version, token):
    # No automatic refresh on 401: the test wants to see the 401 itself.
    http = AuthorizedHttp(Credentials(token), http=httplib2.Http(timeout=10),
                          refresh_status_codes=())
    return build(name, version, http=http, static_discovery=True,
                 client_options={"api_endpoint": sandbox.api_endpoint}, cache_discovery=False)


def test_it_lists_accounts_in_pages(sandbox, access_token, owner):
    accounts = api(sandbox, "mybusinessaccountmanagement", "v1", access_token).accounts()
    first = accounts.list(pageSize=2).execute()
    assert len(first["accounts"]) == 2 and first["nextPageToken"]
    second = accounts.list(pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert "nextPageToken" not in second
    names = [a["name"] for a in first["accounts"] + second["accounts"]]
    assert names == [a["name"] for a in data.accounts(owner.username)]


def test_it_lists_locations_with_a_read_mask(sandbox, access_token, owner):
    account = data.accounts(owner.username)[0]["name"]
    locations = api(sandbox, "mybusinessbusinessinformation", "v1", access_token).accounts().locations()
    seen, token = [], None
    while True:
        page = locations.list(parent=account, readMask="name,title", pageSize=3,
                              pageToken=token).execute()
        seen += page["locations"]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(seen) == data.LOCATIONS_PER_ACCOUNT[0] == page["totalSize"]
    assert set(seen[0]) == {"name", "title"}


def test_it_requires_a_read_mask(sandbox, access_token, owner):
    account = data.accounts(owner.username)[0]["name"]
    locations = api(sandbox, "mybusinessbusinessinformation", "v1", access_token).accounts().locations()
    with pytest.raises(HttpError) as error:
        locations.list(parent=account).execute()
    assert error.value.status_code == 400


def test_it_returns_daily_metrics_and_omits_zeros(sandbox, access_token, owner):
    account_id = data.account_ids(owner.username)[0]
    location = data.locations(owner.username, account_id)[0]["name"]
    perf = api(sandbox, "businessprofileperformance", "v1", access_token).locations()
    metrics = ["CALL_CLICKS", "BUSINESS_IMPRESSIONS_MOBILE_MAPS"]
    body = perf.fetchMultiDailyMetricsTimeSeries(
        location=location, dailyMetrics=metrics,
        dailyRange_startDate_year=2026, dailyRange_startDate_month=8, dailyRange_startDate_day=1,
        dailyRange_endDate_year=2026, dailyRange_endDate_month=10, dailyRange_endDate_day=29,
    ).execute()
    series = body["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"]
    assert [s["dailyMetric"] for s in series] == metrics
    calls = series[0]["timeSeries"]["datedValues"]
    assert len(calls) == 90
    location_id = location.split("/")[1]
    expected = data.daily_values(location_id, "CALL_CLICKS", date(2026, 8, 1), date(2026, 10, 29))
    assert sum(int(v.get("value", "0")) for v in calls) == sum(v for _, v in expected)
    zeros = [v for v in calls if "value" not in v]
    assert zeros and all(set(v) == {"date"} for v in zeros)
    assert all(isinstance(v["value"], str) for v in calls if "value" in v)


def test_it_lists_reviews_in_pages_with_ratings(sandbox, access_token, owner):
    account_id = data.account_ids(owner.username)[0]
    location_id = next(
        loc["name"].split("/")[1] for loc in data.locations(owner.username, account_id)
        if len(data.reviews(owner.username, loc["name"].split("/")[1])) > 10
    )
    url = sandbox.url(f"gbp/v4/accounts/{account_id}/locations/{location_id}/reviews")
    auth = {"Authorization": f"Bearer {access_token}"}
    first = requests.get(url, params={"pageSize": 10}, headers=auth, timeout=10).json()
    expected = data.reviews(owner.username, location_id)
    assert len(first["reviews"]) == 10 and first["nextPageToken"]
    assert first["totalReviewCount"] == len(expected)
    assert 1 <= first["averageRating"] <= 5
    assert first["reviews"][0]["starRating"] in data.STARS
    assert "reviewReply" in first["reviews"][0]


@pytest.mark.parametrize("auth", [None, "Bearer not-a-token"])
def test_it_answers_googles_401_without_a_valid_token(sandbox, db, auth):
    headers = {"Authorization": auth} if auth else {}
    r = requests.get(sandbox.url("gbp/v1/accounts"), headers=headers, timeout=10)
    assert r.status_code == 401
    assert r.json()["error"]["status"] == "UNAUTHENTICATED"
    assert r.json()["error"]["code"] == 401


def test_it_answers_401_to_an_expired_token(sandbox, access_token, owner):
    accounts = api(sandbox, "mybusinessaccountmanagement", "v1", access_token).accounts()
    sandbox.expire_tokens(owner)
    with pytest.raises(HttpError) as error:
        accounts.list().execute()
    assert error.value.status_code == 401


def test_it_answers_401_to_a_revoked_grant(sandbox, access_token, owner):
    sandbox.revoke_grant(owner)
    r = requests.get(sandbox.url("gbp/v1/accounts"), timeout=10,
                     headers={"Authorization": f"Bearer {access_token}"})
    assert r.status_code == 401


def test_it_gives_each_user_their_own_data(db, owner, other):
    assert data.accounts(owner.username) != data.accounts(other.username)
    assert data.accounts(owner.username) == data.accounts(owner.username)
