"""Suite-wide leak detection: every secret the tests handle vs everything the product shows.

Recorded while each test runs:
- secrets: every token written to an encrypted field, every token or code a provider answered,
  every authorization code the sandbox issued, every client secret in settings, every SASL
  XOAUTH2 string built for a mail login (as is and base64-encoded, as it is sent);
- output: every log record (message and traceback), every HTML or JSON response the product
  served (test client and live server alike), every email sent.

At the end of each test, no secret may appear in any output. The sandbox's own responses are
the provider speaking (a token endpoint answers with tokens) and are not product output.
"""

import base64
import logging
import threading

from django.conf import settings
from django.core import mail

MIN_SECRET_LENGTH = 8
_lock = threading.Lock()
secrets: set[str] = set()
outputs: list[tuple[str, str]] = []


def remember_secret(value):
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            secrets.add(value)


def remember_output(where, text):
    with _lock:
        outputs.append((where, text))


class CaptureHandler(logging.Handler):
    def emit(self, record):
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is not our concern here
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        remember_output(f"log {record.name}", text)


class CaptureResponses:
    """Test-only middleware: keeps every HTML/JSON body the product serves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        ctype = response.get("Content-Type", "")
        provider_side = request.path.startswith("/sandbox/")
        if not provider_side and not response.streaming and ("html" in ctype or "json" in ctype):
            remember_output(f"{request.method} {request.path} -> {response.status_code}",
                            response.content.decode("utf-8", "replace"))
        return response


def install():
    """Hook the places secrets pass through. Called once per session."""
    from integrations import fields, oauth_client

    save = fields.EncryptedTextField.get_db_prep_save

    def recording_save(self, value, connection):
        remember_secret(value)
        return save(self, value, connection)

    fields.EncryptedTextField.get_db_prep_save = recording_save

    parse = oauth_client.parse_token_response

    def recording_parse(response, sent):
        for secret in sent:
            remember_secret(secret)  # codes, verifiers and refresh tokens we sent
        token = parse(response, sent)
        remember_secret(token.access_token)
        remember_secret(token.refresh_token)
        return token

    oauth_client.parse_token_response = recording_parse

    # The SASL XOAUTH2 string carries the access token; on the wire it is base64, in which the
    # token itself is not found: both forms are secrets.
    from integrations import mail, tokens
    from integrations.tokens import api as token_api

    def remember_xoauth2(value):
        remember_secret(value)
        remember_secret(base64.b64encode(value.encode()).decode())
        return value

    build = mail.xoauth2
    mail.xoauth2 = lambda user, access_token: remember_xoauth2(build(user, access_token))
    as_string = token_api.xoauth2_string
    token_api.xoauth2_string = tokens.xoauth2_string = (
        lambda integration: remember_xoauth2(as_string(integration)))

    from django.db.models.signals import post_save
    from oauth2_provider.models import get_grant_model

    post_save.connect(lambda sender, instance, **kw: remember_secret(instance.code),
                      sender=get_grant_model(), weak=False)
    logging.getLogger().addHandler(CaptureHandler(level=logging.DEBUG))


def start_test():
    with _lock:
        secrets.clear()
        outputs.clear()
    remember_settings()


def remember_settings():
    """The secrets settings hold: Django's key, the encryption keys, every client secret."""
    for name in ("SANDBOX_CLIENT_SECRET", "SECRET_KEY"):
        remember_secret(getattr(settings, name, ""))
    for key in settings.INTEGRATIONS_FERNET_KEYS:
        remember_secret(key)
    for entry in (getattr(settings, "INTEGRATIONS_PROVIDERS", None) or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("client_secret"), str):
            remember_secret(entry["client_secret"])


def find_leaks() -> list[str]:
    remember_settings()  # as the test left them too
    emails = [(f"email to {m.to}", f"{m.subject}\n{m.body}") for m in getattr(mail, "outbox", [])]
    with _lock:
        found = []
        for where, text in outputs + emails:
            for secret in secrets:
                if secret in text:
                    found.append(f"{where}: contains {secret[:4]}...{secret[-2:]} "
                                 f"({len(secret)} chars)")
    return found
