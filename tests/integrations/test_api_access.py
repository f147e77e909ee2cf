"""Who may call the API, and what they see: a session (CSRF-checked on state changes) or the
host's bearer credential (its adapter); another owner's integration is a 404 on every endpoint;
every error, whatever its status, in one shape."""

import pytest
from django.test import Client

from integrations.adapter import DefaultAdapter
from integrations.models import Integration
from tests.conftest import create_integration
from tests.helpers import API, api_call, is_error_shape

# (method, path, body) of every endpoint that takes an integration's id: "{id}" is replaced.
BY_ID = [
    ("GET", "integrations/{id}", None),
    ("DELETE", "integrations/{id}", None),
    ("POST", "integrations/{id}/reconnect", {}),
    ("POST", "integrations/{id}/disconnect", None),
    ("POST", "integrations/{id}/refresh", None),
    ("POST", "integrations/{id}/sync", None),
    ("GET", "integrations/{id}/sync", None),
    ("GET", "integrations/{id}/gbp/accounts", None),
    ("GET", "integrations/{id}/gbp/locations", None),
    ("GET", "integrations/{id}/gbp/reviews", None),
]


@pytest.fixture
def as_bob(db, other):
    client = Client()
    client.force_login(other)
    return client


def test_it_404s_another_owners_integration_on_every_endpoint(db, owner, as_bob):
    integration = create_integration(owner)
    for method, path, body in BY_ID:
        status, error = api_call(as_bob, method, path.format(id=integration.pk), body)
        assert (status, error["code"]) == (404, "not_found"), (method, path)
        assert is_error_shape(error)
    assert Integration.objects.get().status == "active"
    assert api_call(as_bob, "GET", "integrations")[1]["count"] == 0


def test_it_asks_for_a_session(db, owner):
    integration = create_integration(owner)
    for method, path, body in [*BY_ID, ("GET", "integrations", None),
                               ("GET", "providers", None),
                               ("POST", "integrations/connect", {"provider": "sandbox"})]:
        status, error = api_call(Client(), method, path.format(id=integration.pk), body)
        assert (status, error["code"]) == (401, "not_authenticated"), (method, path)
        assert is_error_shape(error)


def test_it_refuses_a_state_change_without_the_csrf_token(db, owner):
    integration = create_integration(owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    status, error = api_call(client, "POST", f"integrations/{integration.pk}/disconnect")
    assert (status, error["code"]) == (403, "csrf_failed") and is_error_shape(error)
    assert Integration.objects.get().status == "active"
    assert api_call(client, "GET", f"integrations/{integration.pk}")[0] == 200  # reads need none

    client.get("/integrations/")  # a page with a form: the csrftoken cookie
    token = client.cookies["csrftoken"].value
    status, data = api_call(client, "POST", f"integrations/{integration.pk}/disconnect",
                            HTTP_X_CSRFTOKEN=token)
    assert status == 200 and data["integration"]["status"] == "disconnected"


def test_it_takes_the_hosts_bearer_credential_without_csrf(db, owner, other, settings):
    settings.INTEGRATIONS_ADAPTER = "tests.helpers.TokenAdapter"
    integration = create_integration(owner)
    client = Client(enforce_csrf_checks=True)
    status, data = api_call(client, "GET", "integrations",
                            HTTP_AUTHORIZATION="Bearer token-of-alice")
    assert status == 200 and [i["id"] for i in data["items"]] == [integration.pk]
    status, data = api_call(client, "POST", f"integrations/{integration.pk}/disconnect",
                            HTTP_AUTHORIZATION="Bearer token-of-alice")
    assert status == 200
    assert api_call(client, "GET", f"integrations/{integration.pk}",
                    HTTP_AUTHORIZATION="Bearer token-of-bob")[0] == 404
    status, error = api_call(client, "GET", "integrations", HTTP_AUTHORIZATION="Bearer forged")
    assert (status, error["code"]) == (401, "not_authenticated")


def test_it_accepts_no_bearer_credential_by_default(db, owner):
    assert DefaultAdapter().api_authenticate(None) is None
    status, _ = api_call(Client(), "GET", "integrations", HTTP_AUTHORIZATION="Bearer anything")
    assert status == 401


def test_it_answers_every_error_in_one_shape(db, owner):
    integration = create_integration(owner)
    client = Client()
    client.force_login(owner)
    cases = [
        ("GET", f"integrations/{integration.pk}/disconnect", None, 405, "method_not_allowed"),
        ("GET", "no/such/endpoint", None, 404, "not_found"),
        ("GET", "integrations/not-a-number", None, 404, "not_found"),
        ("POST", "integrations/connect", {}, 422, "invalid_request"),
        ("POST", "integrations/connect", {"provider": 7}, 422, "invalid_request"),
        ("GET", "integrations?page=0", None, 422, "invalid_request"),
    ]
    for method, path, body, want, code in cases:
        status, error = api_call(client, method, path, body)
        assert (status, error and error["code"]) == (want, code), (method, path)
        assert is_error_shape(error)
    response = client.post(API + "integrations/connect", "{not json",
                           content_type="application/json")
    assert response.status_code in (400, 422) and is_error_shape(response.json())
    assert client.get("/integrations/api/nowhere").json()["code"] == "not_found"


def test_it_words_errors_in_the_requests_language(db, owner):
    client = Client()
    client.force_login(owner)
    status, error = api_call(client, "GET", "integrations/999", HTTP_ACCEPT_LANGUAGE="de")
    assert status == 404 and error["message"] != "There is nothing here, or it is not yours."
