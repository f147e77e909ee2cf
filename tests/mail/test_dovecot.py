"""Against a real Dovecot (tests/mail/harness.py) that asks the sandbox about every token."""

import email
import email.policy
import logging
from email.message import EmailMessage
from datetime import timedelta

import pytest
from django.core import mail as outbox
from django.utils import timezone

from integrations import tokens
from integrations.errors import MAILBOX_REFUSED, ErrorKind
from integrations.mail import MailError, imap_connect, smtp_connect
from integrations.models import Integration, IntegrationEvent, Notice, OAuthCredential
from sandbox import ops
from tests.conftest import create_integration
from tests.helpers import configure_provider, run_command
from tests.mail.harness import MAIL_SCOPE, failure_of

pytestmark = pytest.mark.mail
BOTH = pytest.mark.parametrize("connect", [imap_connect, smtp_connect], ids=["imap", "smtp"])


# The two functions of docs/mail.md's example, as they are there.
def unread_subjects(integration) -> list[str]:
    """The subjects of the unread messages in the inbox (left unread)."""
    with imap_connect(integration) as imap:
        imap.select("INBOX", readonly=True)
        _, found = imap.search(None, "UNSEEN")
        subjects = []
        for number in found[0].split():
            _, data = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            headers = email.message_from_bytes(data[0][1], policy=email.policy.default)
            subjects.append(str(headers["Subject"]))
        return subjects


def send(integration, to: str, subject: str, body: str):
    """A plain-text message from the integration's mailbox."""
    message = EmailMessage()
    message["From"] = integration.display_name  # the mailbox's address
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtp_connect(integration) as smtp:
        smtp.send_message(message)


def mail_events(integration):
    return list(IntegrationEvent.objects.filter(integration=integration, kind="mail")
                .order_by("id").values_list("outcome", "error_code"))


def refused_mailbox(owner):
    """A grant the provider holds as good whose tokens lack the mail scope (a Graph token at
    Microsoft's IMAP, say), stored as if it had it: Dovecot refuses every token it gets."""
    access, refresh, expires = ops.issue_grants(owner, 1, scope="openid email")[0]
    return create_integration(owner, "sandbox_mail", access_token=access, refresh_token=refresh,
                              expires_at=expires, scopes=[MAIL_SCOPE, "openid", "email"],
                              display_name=owner.email, external_id="refused")


def test_it_sends_over_smtp_and_reads_back_over_imap_with_a_fresh_token(mailbox, mail_sandbox):
    send(mailbox, mailbox.display_name, "Grüße from the mail tests", "Sent over SMTP, read "
         "back over IMAP.")
    assert unread_subjects(mailbox) == ["Grüße from the mail tests"]
    assert mail_sandbox.token_requests("refresh_token") == 0
    assert mail_events(mailbox) == []  # all well: nothing written


@BOTH
def test_it_refreshes_an_expired_token_before_logging_in(mailbox, mail_sandbox, owner, connect,
                                                         caplog):
    mail_sandbox.expire_tokens(owner)  # dead at the provider...
    OAuthCredential.objects.filter(integration=mailbox).update(  # ...and known to be
        expires_at=timezone.now() - timedelta(minutes=1))
    with caplog.at_level(logging.INFO, logger="integrations.mail"), connect(mailbox):
        pass
    assert mail_sandbox.token_requests("refresh_token") == 1
    assert "refused" not in caplog.text  # refreshed first, not after a refusal


@BOTH
def test_it_refreshes_once_when_the_server_refuses_a_token_revoked_before_its_expiry(
        mailbox, mail_sandbox, owner, connect, caplog):
    mail_sandbox.revoke_access_tokens(owner)  # the grant stays good
    with caplog.at_level(logging.INFO, logger="integrations.mail"), connect(mailbox):
        pass
    assert mail_sandbox.token_requests("refresh_token") == 1
    assert "refused the token; refreshing once and trying again" in caplog.text
    assert mail_events(mailbox) == []


@BOTH
def test_it_asks_for_a_reconnect_once_when_the_grant_is_revoked(mailbox, mail_sandbox, owner,
                                                                connect):
    mail_sandbox.revoke_grant(owner)
    failure = failure_of(connect, mailbox)
    assert isinstance(failure, tokens.ReauthRequired) and failure.code == "invalid_grant"
    mailbox.refresh_from_db()
    assert mailbox.status == Integration.Status.REAUTH_REQUIRED
    assert Notice.objects.filter(integration=mailbox).count() == 1
    assert [m.to for m in outbox.outbox] == [[owner.email]]
    assert mail_sandbox.token_requests("refresh_token") == 1
    assert isinstance(failure_of(connect, mailbox), tokens.ReauthRequired)  # told once
    assert len(outbox.outbox) == 1 and mail_sandbox.token_requests("refresh_token") == 1


@BOTH
def test_it_says_the_mailbox_refuses_a_good_grant_after_one_refresh(
        mail_server, mail_sandbox, client, owner, connect):
    integration = refused_mailbox(owner)
    failure = failure_of(connect, integration)
    code = "imap_refused" if connect is imap_connect else "smtp_refused"
    assert isinstance(failure, MailError) and (failure.kind, failure.code) == (MAILBOX_REFUSED,
                                                                               code)
    assert mail_sandbox.token_requests("refresh_token") == 1  # one forced refresh, no more
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE  # not the user's grant: no re-auth
    assert not Notice.objects.exists() and not outbox.outbox
    assert mail_events(integration) == [("error", code)]
    client.force_login(owner)
    page = client.get("/integrations/").content.decode()
    assert "Mailbox refuses login" in page
    assert "although your permission is still valid" in page


def test_it_refuses_a_server_whose_certificate_it_cannot_verify(mailbox, settings, caplog):
    settings.INTEGRATIONS_MAIL_CA_FILE = ""  # the system's CAs: the test CA is not among them
    with caplog.at_level(logging.INFO, logger="integrations.mail"):
        failure = failure_of(imap_connect, mailbox)
    assert (failure.kind, failure.code) == (ErrorKind.OPERATOR, "tls_certificate")
    assert "trying again" not in caplog.text  # not a connection problem: no second attempt
    assert mail_events(mailbox) == [("operator", "tls_certificate")]


@BOTH
def test_it_checks_the_host_name_against_the_certificate(mailbox, settings, connect):
    # The same Dovecot, the same CA, at an address its certificate does not name.
    configure_provider(settings, "sandbox_mail", imap_host="127.0.0.2", smtp_host="127.0.0.2")
    failure = failure_of(connect, mailbox)
    assert (failure.kind, failure.code) == (ErrorKind.OPERATOR, "tls_certificate")


def test_it_probes_mailboxes_and_reports_one_that_refuses(mailbox, mail_sandbox, owner, client):
    refused = refused_mailbox(owner)
    code, out = run_command("token_health", "--probe", "5", "--mail")
    assert code == 1
    assert f"mail probe: integration {mailbox.pk} sandbox_mail: imap ok, smtp ok" in out
    # IMAP refused the freshly refreshed token too; the refresh said what it was granted (no
    # mail scope), so SMTP was not even tried.
    assert (f"mail probe: integration {refused.pk} sandbox_mail: imap imap_refused, "
            "smtp mail_scope_missing") in out
    assert "probed 2 mailboxes: ok 1, refused 1, failed 0" in out
    client.force_login(owner)
    page = client.get("/integrations/").content.decode()
    assert page.count("Mailbox refuses login") == 1


def test_it_clears_a_refusal_once_a_login_of_that_kind_works(mailbox, client, owner):
    IntegrationEvent.objects.record(mailbox.pk, "mail", "error", error_code="imap_refused")
    with smtp_connect(mailbox):
        pass
    assert mail_events(mailbox)[-1] == ("error", "imap_refused")  # SMTP says nothing of IMAP
    with imap_connect(mailbox):
        pass
    assert mail_events(mailbox)[-1] == ("ok", "")
    with imap_connect(mailbox):
        pass
    assert len(mail_events(mailbox)) == 2  # nothing more written while all is well
    client.force_login(owner)
    assert "Mailbox refuses login" not in client.get("/integrations/").content.decode()
