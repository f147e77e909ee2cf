"""Notices to owners: written with the state change, delivered through the adapter, tried
again when the delivery fails, delivered once."""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.management import call_command

from integrations import notices, signals, tokens
from accounts.adapters import TeamAdapter
from integrations.http import request as http_request
from integrations.models import Notice


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail_down(settings):
    """A real SMTP backend pointed at a port nobody listens on: every send is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    settings.INTEGRATIONS_NOTICE_RETRY_SECONDS = 0  # the next sweep may try again at once

    def back_up():
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    return back_up


def reauth(integration, capture):
    with capture(execute=True):
        assert tokens.mark_reauth_required(integration, "invalid_grant", "revoked")


def test_it_emails_once_when_mail_comes_back_after_an_outage(
        db, owner, make_integration, mail_down, django_capture_on_commit_callbacks):
    told = []
    signals.reauth_required.connect(handler := lambda **kw: told.append(kw), weak=False)
    try:
        reauth(make_integration(owner, "sandbox"), django_capture_on_commit_callbacks)
    finally:
        signals.reauth_required.disconnect(handler)
    assert len(told) == 1  # the signal does not wait for the mail server
    notice = Notice.objects.get()
    assert (notice.status, notice.attempts, notice.last_error) == (
        "pending", 1, "ConnectionRefusedError")

    assert notices.deliver_due()["delivered"] == 0  # still down: kept, tried again later
    mail_down()  # the mail server is back
    mail.outbox = []
    assert notices.deliver_due() == {"due": 1, "delivered": 1, "failed": 0}
    assert notices.deliver_due() == {"due": 0, "delivered": 0, "failed": 0}
    call_command("deliver_notices", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.recipients) == ("sent", 3, 1)
    assert notice.sent_at is not None


def test_it_gives_up_after_the_last_attempt_and_says_so(
        db, owner, make_integration, mail_down, settings, caplog,
        django_capture_on_commit_callbacks):
    settings.INTEGRATIONS_NOTICE_ATTEMPTS = 2
    reauth(make_integration(owner, "sandbox"), django_capture_on_commit_callbacks)
    with caplog.at_level(logging.ERROR, logger="integrations.notices"):
        notices.deliver_due()
    notice = Notice.objects.get()
    assert (notice.status, notice.attempts) == ("failed", 2)
    assert "gave up" in caplog.text
    assert notices.deliver_due()["due"] == 0


def test_it_backs_off_exponentially_up_to_a_day(settings):
    settings.INTEGRATIONS_NOTICE_RETRY_SECONDS = 60
    delays = [notices.backoff(n).total_seconds() for n in (1, 2, 3, 12, 30)]
    assert delays == [60, 120, 240, 86400, 86400]


def test_it_delivers_a_notice_once_when_two_sweeps_meet(
        db, owner, make_integration, django_capture_on_commit_callbacks):
    integration = make_integration(owner, "sandbox")
    with django_capture_on_commit_callbacks(execute=False):  # no first delivery
        tokens.mark_reauth_required(integration, "invalid_grant", "revoked")
    notice = Notice.objects.get()
    assert [notices.deliver(notice.pk), notices.deliver(notice.pk)] == [True, False]
    assert len(mail.outbox) == 1


def test_it_does_not_email_a_user_without_an_address(
        db, django_user_model, make_integration, caplog, django_capture_on_commit_callbacks):
    user = django_user_model.objects.create_user("noaddress", "", "pw-1")
    with caplog.at_level(logging.WARNING, logger="integrations.adapter"):
        reauth(make_integration(user, "sandbox"), django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert caplog.text.count("has no email address") == 1
    notice = Notice.objects.get()
    assert (notice.status, notice.recipients) == ("sent", 0)


class Hook(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_webhook():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


class ChatAdapter(TeamAdapter):
    """A host's adapter: a chat message instead of the email (README, "The adapter")."""

    url = ""

    def send_notice(self, notice, recipients):
        context = self.notice_context(notice, recipients[0])
        text = (f"{context['provider_name']} ({context['account']}) needs reconnecting: "
                f"{context['reason']} {context['url']}")
        answer = http_request("POST", self.url, json={"text": text})
        answer.raise_for_status()
        return len(recipients)


def test_it_lets_a_host_adapter_replace_the_email(
        db, owner, make_integration, settings, chat_webhook,
        django_capture_on_commit_callbacks):
    settings.INTEGRATIONS_ADAPTER = f"{__name__}.ChatAdapter"
    ChatAdapter.url = chat_webhook
    integration = make_integration(owner, "sandbox", display_name="bakery@example.com")
    reauth(integration, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert len(Hook.received) == 1
    assert "bakery@example.com) needs reconnecting" in Hook.received[0]["text"]
    assert Notice.objects.get().status == "sent"


def test_it_renders_the_email_from_overridable_templates(
        db, owner, make_integration, django_capture_on_commit_callbacks):
    reauth(make_integration(owner, "sandbox"), django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert message.subject == "Reconnect your Google Business Profile (sandbox) account"
    assert message.body.startswith(f"Hello {owner.get_username()},")
    assert message.extra_headers["Message-ID"].startswith(
        f"<integrations-notice-{Notice.objects.get().pk}.")
