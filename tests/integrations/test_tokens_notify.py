import json

import pytest
from django.core import mail

from integrations import signals, tokens


def test_it_tells_the_owner_once(connected, sandbox, owner):
    received = []
    handler = lambda **kw: received.append(kw)  # noqa: E731
    signals.reauth_required.connect(handler)
    try:
        sandbox.revoke_grant(owner)
        for _ in range(5):
            with pytest.raises(tokens.ReauthRequired):
                tokens.ensure_fresh(connected, force=True)
    finally:
        signals.reauth_required.disconnect(handler)
    assert len(received) == 1 and received[0]["error_code"] == "invalid_grant"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert "Reconnect" in message.subject
    assert f"{sandbox.base_url}/integrations/" in message.body


def test_it_tells_once_when_many_fail_together(db, owner, make_integration,
                                               django_capture_on_commit_callbacks):
    integration = make_integration(owner, "sandbox")
    with django_capture_on_commit_callbacks(execute=True):
        results = [tokens.mark_reauth_required(integration, "invalid_grant", "x") for _ in range(5)]
    assert results == [True, False, False, False, False]
    assert len(mail.outbox) == 1


def test_it_sends_connect_and_disconnect_signals(sandbox, client, owner):
    from tests.helpers import connect

    events = []
    on_connect = lambda **kw: events.append(("connected", kw["created"]))  # noqa: E731
    on_disconnect = lambda **kw: events.append(("disconnected", kw["integration"].pk))  # noqa: E731
    signals.integration_connected.connect(on_connect)
    signals.integration_disconnected.connect(on_disconnect)
    try:
        client.force_login(owner)
        connect(client, sandbox, owner)
        from integrations.models import Integration

        integration = Integration.objects.get()
        client.post(f"/integrations/{integration.pk}/disconnect/")
    finally:
        signals.integration_connected.disconnect(on_connect)
        signals.integration_disconnected.disconnect(on_disconnect)
    assert events == [("connected", True), ("disconnected", integration.pk)]


def test_it_carries_no_token_in_errors(connected, sandbox):
    # A provider that echoes the refresh token it was sent in its error description.
    secret = connected.credential.refresh_token
    body = {"error": "invalid_grant", "error_description": f"refresh token {secret} is revoked"}
    sandbox.inject("token", "status", status=400, body=json.dumps(body))
    with pytest.raises(tokens.ReauthRequired) as failed:
        tokens.ensure_fresh(connected, force=True)
    text = str(failed.value) + repr(failed.value) + failed.value.message
    assert "[redacted]" in failed.value.message and secret not in text


@pytest.mark.parametrize("code,words", [
    ("invalid_grant", "says our access was revoked or has expired"),
    ("undecryptable", "can no longer read the stored credentials"),
    ("some_new_code", "This connection stopped working."),
])
def test_it_emails_plain_words_not_the_provider_code(db, owner, make_integration,
                                                     django_capture_on_commit_callbacks,
                                                     code, words):
    integration = make_integration(owner, "sandbox")
    with django_capture_on_commit_callbacks(execute=True):
        tokens.mark_reauth_required(integration, code, "Token has been expired or revoked.")
    body = mail.outbox[0].body
    assert words in body
    assert code not in body and "Token has been expired" not in body
