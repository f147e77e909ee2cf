import pytest

from integrations.models import Integration
from sandbox import ops
from sandbox.conf import provider_declaration
from tests.helpers import configure_provider, connect


@pytest.fixture(scope="session")
def dovecot(live_server, django_db_blocker):
    """One Dovecot per test process, asking the sandbox on the live server about tokens."""
    from django.conf import settings

    from tests.mail.harness import Dovecot

    server = Dovecot(live_server.url.rstrip("/") + "/sandbox/o/introspect/",
                     settings.SANDBOX_CLIENT_ID, settings.SANDBOX_CLIENT_SECRET).start()
    yield server
    server.stop()


def mail_declaration(base_url, settings, **servers) -> dict:
    """Gmail, at the sandbox: its OAuth endpoints, the mail servers given."""
    declared = provider_declaration(base_url, settings.SANDBOX_CLIENT_ID,
                                    settings.SANDBOX_CLIENT_SECRET)
    declared.pop("api_base_url")
    return {**declared, "extends": "gmail", "name": "Gmail (sandbox)", **servers}


@pytest.fixture
def mail_sandbox(sandbox, settings):
    """The sandbox, with the product's `sandbox_mail` provider (Gmail at the sandbox) able to
    connect there; its mail servers are each test's to declare."""
    base = sandbox.base_url
    settings.INTEGRATIONS_PROVIDERS = {**settings.INTEGRATIONS_PROVIDERS,
                                       "sandbox_mail": mail_declaration(base, settings)}
    ops.register_client([f"{base}/integrations/callback/sandbox/",
                         f"{base}/integrations/callback/sandbox_mail/"])
    settings.INTEGRATIONS_MAIL_TIMEOUT = 5
    return sandbox


@pytest.fixture
def mail_server(mail_sandbox, dovecot, settings):
    """`sandbox_mail` pointed at Dovecot: IMAP with implicit TLS, submission with STARTTLS,
    the test CA trusted (and only it)."""
    configure_provider(settings, "sandbox_mail", imap_host="localhost",
                       imap_port=dovecot.imaps_port, imap_security="ssl", smtp_host="localhost",
                       smtp_port=dovecot.submission_port, smtp_security="starttls")
    settings.INTEGRATIONS_MAIL_CA_FILE = dovecot.ca_file
    seen = len(dovecot.log)
    yield dovecot
    print(f"Dovecot's log during the test:\n{dovecot.log[seen:]}")  # shown when it fails


def connect_mailbox(client, sandbox, user) -> Integration:
    """A `sandbox_mail` integration of `user`, connected through the real flow."""
    client.force_login(user)
    assert connect(client, sandbox, user, provider="sandbox_mail").status_code == 302
    return Integration.objects.get(connected_by=user, provider="sandbox_mail")


@pytest.fixture
def mailbox(mail_server, mail_sandbox, client, owner):
    return connect_mailbox(client, mail_sandbox, owner)
