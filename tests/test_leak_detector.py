"""The suite-wide leak check is itself tested: it must see a leak when there is one."""

import logging

import pytest

from integrations import tokens
from tests import leaks


@pytest.mark.leaks_expected
def test_it_catches_a_token_in_a_log_line(db, owner, make_integration):
    integration = make_integration(owner, access_token="leaky-access-token-123")
    logging.getLogger("integrations").warning("oops %s", integration.credential.access_token)
    assert any("log integrations" in leak for leak in leaks.find_leaks())


@pytest.mark.leaks_expected
def test_it_catches_a_token_in_a_page(db, client, owner, make_integration):
    make_integration(owner, display_name="leaky-refresh-token-456", refresh_token="leaky-refresh-token-456")
    client.force_login(owner)
    client.get("/integrations/")
    assert any("GET /integrations/" in leak for leak in leaks.find_leaks())


@pytest.mark.leaks_expected
def test_it_catches_a_token_in_an_email(db, owner, make_integration, django_capture_on_commit_callbacks):
    # The re-auth email shows the page's plain words, not the provider's message; a display
    # name carrying the token is what reaches the owner's inbox here.
    integration = make_integration(owner, "sandbox", access_token="leaky-access-token-789",
                                   display_name="leaky-access-token-789")
    with django_capture_on_commit_callbacks(execute=True):
        tokens.mark_reauth_required(integration, "invalid_grant", "Token has been revoked.")
    assert any("email to" in leak for leak in leaks.find_leaks())


@pytest.mark.leaks_expected
def test_it_catches_an_xoauth2_string_in_base64_in_a_log_line(db, owner, make_integration):
    # What goes over the wire: base64, in which the token itself cannot be seen.
    import base64

    gmail = make_integration(owner, "gmail", access_token="leaky-access-token-xoauth2",
                             display_name="me@gmail.com")
    sasl = base64.b64encode(tokens.xoauth2_string(gmail).encode()).decode()
    assert "leaky-access-token-xoauth2" not in sasl
    logging.getLogger("integrations.mail").info("AUTHENTICATE XOAUTH2 %s", sasl)
    assert any("log integrations.mail" in leak for leak in leaks.find_leaks())
