"""A mail server that is down or stalls: a clean transient error within the timeout (no
Dovecot needed: the token is fresh, the server is a closed port or a socket that never answers)."""

import logging
import time

import pytest

from integrations.errors import ErrorKind
from integrations.mail import MailError, imap_connect, smtp_connect
from integrations.models import IntegrationEvent
from tests.helpers import configure_provider
from tests.mail.harness import StalledServer, closed_port, failure_of

TIMEOUT, ATTEMPTS = 0.5, 2
CONNECTS = {"imap": imap_connect, "smtp": smtp_connect}
EVERY_WAY = pytest.mark.parametrize("protocol,security", [
    ("imap", "ssl"), ("imap", "starttls"), ("smtp", "ssl"), ("smtp", "starttls")])


@pytest.fixture
def mail_at(settings, db, owner, make_integration):
    """A Gmail-like integration whose `protocol` server is 127.0.0.1:`port`."""
    settings.INTEGRATIONS_MAIL_TIMEOUT = TIMEOUT
    settings.INTEGRATIONS_MAIL_CONNECT_ATTEMPTS = ATTEMPTS
    settings.INTEGRATIONS_BACKOFF_BASE_SECONDS = 0.05

    def make(protocol, security, port):
        configure_provider(settings, "testmail", extends="gmail", client_id="mail-client",
                           client_secret="mail-client-secret-1234",
                           **{f"{protocol}_host": "127.0.0.1", f"{protocol}_port": port,
                              f"{protocol}_security": security})
        return make_integration(owner, "testmail", display_name="me@example.com",
                                scopes=["https://mail.google.com/", "openid", "email"])

    return make


def timed_failure(protocol, integration):
    started = time.monotonic()
    failure = failure_of(CONNECTS[protocol], integration)
    return failure, time.monotonic() - started


@EVERY_WAY
def test_it_gives_a_transient_error_when_the_server_is_down(mail_at, protocol, security, caplog):
    integration = mail_at(protocol, security, closed_port())
    with caplog.at_level(logging.INFO, logger="integrations.mail"):
        failure, elapsed = timed_failure(protocol, integration)
    assert isinstance(failure, MailError)
    assert (failure.kind, failure.code) == (ErrorKind.TRANSIENT, "connection_refused")
    assert caplog.text.count("connection_refused on attempt") == ATTEMPTS - 1  # backed off
    assert elapsed < 2
    assert str(failure) == (f"integration {integration.pk}: connection_refused: "
                            f"{protocol.upper()} 127.0.0.1:{failure_port(integration, protocol)}: "
                            f"connection_refused after {ATTEMPTS} attempt(s).")
    # A server out of reach is not the mailbox's problem: the page shows nothing.
    assert not IntegrationEvent.objects.filter(kind="mail").exists()


@EVERY_WAY
def test_it_gives_a_transient_error_within_the_timeout_when_the_server_stalls(
        mail_at, protocol, security):
    stalled = StalledServer()
    try:
        integration = mail_at(protocol, security, stalled.port)
        failure, elapsed = timed_failure(protocol, integration)
    finally:
        stalled.close()
    assert isinstance(failure, MailError)
    assert (failure.kind, failure.code) == (ErrorKind.TRANSIENT, "timeout")
    # Each attempt waits out one timeout (the TLS handshake or the greeting), no longer.
    assert ATTEMPTS * TIMEOUT <= elapsed < ATTEMPTS * TIMEOUT + 1.5


def failure_port(integration, protocol):
    from integrations.providers import registry

    return registry.get(integration.provider).mail_server(protocol)[1]
