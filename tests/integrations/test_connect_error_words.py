"""The page a failed connect ends on says what happened in plain words; what the provider said
(its error code and description) goes to the log for operators, never to the user."""

import json
import logging

import pytest

from tests.helpers import finish, no_integrations, page_text, start, state_of

DESCRIPTION = "AADSTS7000215: Invalid client secret provided. Trace ID: 0f5c7d1e-aaaa-bbbb"


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


@pytest.mark.parametrize("error,status", [
    ("invalid_client", 401),  # the operator's problem
    ("invalid_grant", 400),  # the code expired
    ("temporarily_unavailable", 503),
    ("some_new_code", 400),
])
def test_it_shows_plain_words_when_the_token_endpoint_answers_an_error(sandbox, logged_in, owner,
                                                                       caplog, error, status):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("token", "status", status=status, content_type="application/json",
                   body=json.dumps({"error": error, "error_description": DESCRIPTION}))
    with caplog.at_level(logging.WARNING, logger="integrations.views"):
        r = finish(logged_in, back)
    assert r.status_code in (400, 502)
    text = page_text(r)
    assert "did not give us a usable answer. Nothing was stored; please try again." in text
    for provider_words in (error, "AADSTS", "Invalid client secret", "Trace ID", "0f5c7d1e"):
        assert provider_words not in text
    assert no_integrations()
    # The operators' words are in the log.
    logged = "\n".join(rec.getMessage() for rec in caplog.records
                       if rec.name == "integrations.views")
    assert error in logged and "AADSTS7000215" in logged


def test_it_shows_plain_words_when_the_provider_redirects_back_with_an_error(sandbox, logged_in,
                                                                             caplog):
    url = start(logged_in)
    with caplog.at_level(logging.WARNING, logger="integrations.views"):
        r = logged_in.get("/integrations/callback/sandbox/", {
            "state": state_of(url), "error": "server_error",
            "error_description": "Backend exploded <b>XYZZY</b>\nline two"})
    assert r.status_code == 400
    text = page_text(r)
    assert "answered with an error. Nothing was changed; please try again." in text
    assert "server_error" not in text and "XYZZY" not in text
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "integrations.views"]
    assert any("'server_error'" in line and "XYZZY" in line for line in logged)
    assert not any("\n" in line for line in logged)  # one line each: no forged log lines


def test_it_shows_plain_words_when_the_identity_cannot_be_read(sandbox, logged_in, owner):
    back = sandbox.consent(owner, start(logged_in))
    sandbox.inject("userinfo", "status", status=400, content_type="application/json",
                   body=json.dumps({"error": "invalid_request", "error_description": DESCRIPTION}))
    r = finish(logged_in, back)
    assert r.status_code == 502
    text = page_text(r)
    assert "We could not read which" in text
    assert "invalid_request" not in text and "AADSTS" not in text
