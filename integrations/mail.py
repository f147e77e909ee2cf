"""IMAP and SMTP sessions over SASL XOAUTH2, logged in with the token service's tokens.

    from integrations.mail import MailError, imap_connect, smtp_connect

    with imap_connect(integration) as imap:      # an imaplib.IMAP4(_SSL), authenticated
        imap.select("INBOX", readonly=True)
    with smtp_connect(integration) as smtp:      # an smtplib.SMTP(_SSL), authenticated
        smtp.send_message(message)

For providers that declare mail servers (`imap_host`, `smtp_host`, ... on the declaration). On
the way in:

- a token valid for the buffer first (`tokens.ensure_fresh`);
- implicit TLS or STARTTLS as the provider declares, TLS 1.2 or newer, the certificate and the
  host name checked (against INTEGRATIONS_MAIL_CA_FILE when set), INTEGRATIONS_MAIL_TIMEOUT on
  every socket operation, up to INTEGRATIONS_MAIL_CONNECT_ATTEMPTS tries with backoff while the
  server cannot be reached or answers "try later";
- a server that refuses the token (IMAP `AUTHENTICATE` NO, SMTP 535): one forced refresh and
  one more try, as `with_token` does on a 401. A second refusal is `MailError` of kind
  MAILBOX_REFUSED (the grant is good, the mailbox will not let it in: IMAP or SMTP AUTH turned
  off, a token for the wrong resource or scope), recorded on the integration (an event of kind
  `mail`) so its page says so; the next login that succeeds clears it. A grant the provider
  says is bad is the token service's ReauthRequired, raised from the refresh.

Errors are `MailError` (kind transient, operator or MAILBOX_REFUSED) or the token service's
`TokenError`s; their text, like every log line here, is ours: never a token, an XOAUTH2 string
or a server's reply to one.
"""

import base64
import imaplib
import logging
import smtplib
import socket
import ssl
from contextlib import contextmanager

from . import http, tokens
from .conf import settings
from .errors import MAILBOX_REFUSED, ErrorKind, MailError
from .models import IntegrationEvent
from .providers import registry
from .security import scrub

log = logging.getLogger(__name__)

IMAP, SMTP = "imap", "smtp"
LABELS = {IMAP: "IMAP", SMTP: "SMTP"}
# Event codes the integrations page words (integrations.display.MAIL_WORDS).
REFUSED_CODES = {IMAP: "imap_refused", SMTP: "smtp_refused"}
SCOPE_MISSING = "mail_scope_missing"
# Every code of a mailbox that refuses a good grant.
REFUSALS = {*REFUSED_CODES.values(), SCOPE_MISSING}
TRANSIENT, OPERATOR = ErrorKind.TRANSIENT.value, ErrorKind.OPERATOR.value

__all__ = ["MailError", "MAILBOX_REFUSED", "imap_connect", "smtp_connect", "probe",
           "tls_context", "xoauth2"]


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64): user=...^Aauth=Bearer ...^A^A."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def tls_context() -> ssl.SSLContext:
    """TLS 1.2 or newer, the certificate checked against INTEGRATIONS_MAIL_CA_FILE (else the
    system's CAs) and the host name checked."""
    context = ssl.create_default_context(cafile=settings.INTEGRATIONS_MAIL_CA_FILE or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@contextmanager
def imap_connect(integration):
    """An IMAP session logged in as the integration's mailbox; logged out on leaving."""
    conn = _logged_in(integration, IMAP)
    try:
        yield conn
    finally:
        conn.logout()  # imaplib's logout never raises: it shuts the socket down whatever happens


@contextmanager
def smtp_connect(integration):
    """An SMTP session (submission) logged in as the integration's mailbox; quit on leaving."""
    conn = _logged_in(integration, SMTP)
    try:
        yield conn
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def mail_providers() -> list[str]:
    """The ids of the providers that declare a mail server."""
    return [p.id for p in registry.all_providers() if p.mail and (p.imap_host or p.smtp_host)]


def probe(integration) -> dict:
    """Log in to each mail server the provider declares and out again: {"imap": "ok" or an
    error code, "smtp": ...}. Used by `token_health --mail`; token errors are raised."""
    provider = registry.find(integration.provider)
    result = {}
    for protocol, connect in ((IMAP, imap_connect), (SMTP, smtp_connect)):
        if provider is None or not provider.mail_server(protocol)[0]:
            continue
        try:
            with connect(integration):
                result[protocol] = "ok"
        except MailError as exc:
            result[protocol] = exc.code
    return result


# --- one login: the token, the scopes, one refresh on a refusal -------------------------------

class _Refused(Exception):
    """The server said no to the token (IMAP AUTHENTICATE NO, SMTP 5xx to AUTH)."""

    def __init__(self, reply: str):
        self.reply = reply


class _Failed(Exception):
    """No session this time: `kind` transient (worth another attempt) or operator."""

    def __init__(self, kind: str, code: str, detail: str = ""):
        self.kind, self.code, self.detail = kind, code, detail


def _logged_in(integration, protocol):
    provider = registry.find(integration.provider)
    if provider is None or not provider.mail:
        raise MailError(integration.pk, OPERATOR, "not_a_mail_provider",
                        f"Provider {integration.provider!r} does not do mail.")
    host, port, security = provider.mail_server(protocol)
    where = f"{LABELS[protocol]} {host}:{port}"
    if not host:
        raise _operator(integration, "no_mail_server", f"Provider {provider.id!r} declares no "
                        f"{LABELS[protocol]} server ({protocol}_host).")
    user = str(getattr(integration, provider.mail_user_field, "") or "")
    if not user:
        raise _operator(integration, "no_mail_user", f"The integration has no "
                        f"{provider.mail_user_field} to log in to {where} as.")
    server = (host, port, security)
    cred = tokens.ensure_fresh(integration)
    _check_scopes(integration, provider, cred)
    conn = _try(integration, protocol, server, user, cred.access_token)
    if isinstance(conn, _Refused):
        log.info("integration %s: %s refused the token; refreshing once and trying again",
                 integration.pk, where)
        cred = tokens.ensure_fresh(integration, force=True)  # a bad grant: ReauthRequired
        conn = _try(integration, protocol, server, user, cred.access_token)
        if isinstance(conn, _Refused):
            secrets = [cred.access_token, xoauth2(user, cred.access_token)]
            raise _refused(integration, protocol, where, conn, secrets)
    _record(integration, IntegrationEvent.Outcome.OK, "", "", protocol=protocol)
    return conn


def _try(integration, protocol, server, user, access_token):
    """A logged-in connection, or the server's refusal (returned, not raised: what follows a
    refusal, a refresh and its errors, is not "during" it)."""
    try:
        return _session(integration, protocol, server, user, access_token)
    except _Refused as refused:
        return refused


def _check_scopes(integration, provider, cred):
    """A grant that says it lacks the mail scopes is not sent to the server (Microsoft: a Graph
    grant for IMAP). A provider that does not say what it granted is given the benefit."""
    granted = cred.scopes if isinstance(cred.scopes, list) else []
    if not provider.mail_scopes or not granted:
        return
    have = {provider.normalize_scope(s) for s in granted if isinstance(s, str)}
    missing = [s for s in provider.mail_scopes if provider.normalize_scope(s) not in have]
    if missing:
        message = (f"The grant lacks the mail scope(s) {', '.join(missing)}: IMAP and SMTP would "
                   "refuse its tokens.")
        log.warning("integration %s (%s): %s", integration.pk, provider.id, message)
        _record(integration, IntegrationEvent.Outcome.ERROR, SCOPE_MISSING, message)
        raise MailError(integration.pk, MAILBOX_REFUSED, SCOPE_MISSING, message)


def _refused(integration, protocol, where, refused, secrets) -> MailError:
    """The second refusal, with a token the provider had just issued: the mailbox's doing."""
    code = REFUSED_CODES[protocol]
    reply = " ".join(scrub(refused.reply, [*secrets, *_base64(secrets)]).split())[:200]
    message = f"{where} refused a token the provider had just issued ({reply})."
    log.warning("integration %s: %s", integration.pk, message)
    _record(integration, IntegrationEvent.Outcome.ERROR, code, message)
    return MailError(integration.pk, MAILBOX_REFUSED, code,
                     f"{where} refused the login with a freshly refreshed token.")


def _operator(integration, code, message) -> MailError:
    log.error("integration %s: %s", integration.pk, message)
    _record(integration, IntegrationEvent.Outcome.OPERATOR, code, message)
    return MailError(integration.pk, OPERATOR, code, message)


def _record(integration, outcome, code, message, *, protocol=None):
    """What the page shows: the latest `mail` event. Written only when it changes (a refusal,
    an operator problem, the first success after one), so a host that logs in every minute
    writes nothing while all is well. A success of one protocol does not clear the other's
    refusal (IMAP may work where SMTP AUTH is turned off)."""
    latest = integration.events.filter(kind=IntegrationEvent.Kind.MAIL).order_by(
        "-created_at", "-id").values_list("error_code", flat=True).first()
    if latest == code or (latest is None and not code):
        return
    others = {c for p, c in REFUSED_CODES.items() if p != protocol}
    if not code and latest in others:
        return
    IntegrationEvent.objects.record(integration.pk, IntegrationEvent.Kind.MAIL, outcome,
                                    error_code=code, message=message)


def _base64(secrets):
    return [base64.b64encode(s.encode()).decode() for s in secrets]


# --- one session: reach the server (bounded attempts), TLS, authenticate ----------------------

def _session(integration, protocol, server, user, access_token):
    """A logged-in connection, or _Refused, or MailError once the attempts are spent."""
    host, port, security = server
    where = f"{LABELS[protocol]} {host}:{port}"
    try:
        context = tls_context()
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        raise _operator(integration, "tls_ca_file", f"INTEGRATIONS_MAIL_CA_FILE "
                        f"({settings.INTEGRATIONS_MAIL_CA_FILE!r}) cannot be read as CA "
                        "certificates.") from None
    attempts = max(1, int(settings.INTEGRATIONS_MAIL_CONNECT_ATTEMPTS))
    for attempt in range(1, attempts + 1):
        try:
            return OPENERS[protocol](host, port, security, context, user, access_token)
        except _Failed as failed:
            if failed.kind == OPERATOR:
                raise _operator(integration, failed.code,
                                f"{where}: {failed.detail or failed.code}.") from None
            if attempt == attempts:
                log.warning("integration %s: %s: %s after %s attempt(s)", integration.pk, where,
                            failed.code, attempt)
                raise MailError(integration.pk, TRANSIENT, failed.code,
                                f"{where}: {failed.code} after {attempt} attempt(s).") from None
            delay = http.backoff_delay(attempt, None)
            log.info("integration %s: %s: %s on attempt %s, trying again in %.2fs",
                     integration.pk, where, failed.code, attempt, delay)
            http.wait(delay)
    raise AssertionError("unreachable")


def _failure(exc) -> _Failed:
    """A connection-level exception as (kind, code); its text is never kept (it may quote what
    was sent)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _Failed(OPERATOR, "tls_certificate", "the server's certificate did not verify")
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return _Failed(TRANSIENT, "connection_error")
    if isinstance(exc, ssl.SSLError):
        return _Failed(OPERATOR, "tls_error", "no TLS session (TLS 1.2 or newer) could be agreed")
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return _Failed(TRANSIENT, "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return _Failed(TRANSIENT, "connection_refused")
    if isinstance(exc, socket.gaierror):
        return _Failed(TRANSIENT, "dns_error")
    return _Failed(TRANSIENT, "connection_error")


def _timeout() -> float:
    return float(settings.INTEGRATIONS_MAIL_TIMEOUT)


def _imap(host, port, security, context, user, access_token):
    conn = None
    try:
        if security == "ssl":
            conn = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=_timeout())
        else:
            conn = imaplib.IMAP4(host, port, timeout=_timeout())
            _imap_starttls(conn, context)
        if "AUTH=XOAUTH2" not in conn.capabilities:
            raise _Failed(OPERATOR, "no_xoauth2", "the server does not offer AUTH=XOAUTH2")
        answers = iter([xoauth2(user, access_token).encode()])
        # After the one answer, an empty one: a server that explains its refusal in a
        # challenge (Gmail, Dovecot) then says NO.
        conn.authenticate("XOAUTH2", lambda challenge: next(answers, b""))
        return conn
    except imaplib.IMAP4.abort as exc:  # the connection broke: never its text
        _shut(conn)
        raise _failure(exc) from None
    except imaplib.IMAP4.error as exc:
        _shut(conn)
        reply = str(exc)
        if "[UNAVAILABLE]" in reply.upper():  # RFC 5530: a temporary failure, not a refusal
            raise _Failed(TRANSIENT, "unavailable") from None
        raise _Refused(reply) from None
    except (_Failed, _Refused):
        _shut(conn)
        raise
    except OSError as exc:
        _shut(conn)
        raise _failure(exc) from None


def _imap_starttls(conn, context):
    if "STARTTLS" not in conn.capabilities:
        raise _Failed(OPERATOR, "no_starttls", "the server does not offer STARTTLS")
    try:
        conn.starttls(ssl_context=context)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        raise _Failed(OPERATOR, "tls_error", "the server refused STARTTLS") from None


def _shut(conn):
    if conn is not None:
        try:
            conn.shutdown()
        except OSError:
            pass


def _smtp(host, port, security, context, user, access_token):
    conn = None
    try:
        if security == "ssl":
            conn = smtplib.SMTP_SSL(host, port, context=context, timeout=_timeout())
            conn.ehlo()
        else:
            conn = smtplib.SMTP(host, port, timeout=_timeout())
            conn.ehlo()
            if not conn.has_extn("starttls"):
                raise _Failed(OPERATOR, "no_starttls", "the server does not offer STARTTLS")
            conn.starttls(context=context)
            conn.ehlo()
        if "XOAUTH2" not in conn.esmtp_features.get("auth", "").upper().split():
            raise _Failed(OPERATOR, "no_xoauth2", "the server does not offer AUTH XOAUTH2")
        answers = iter([xoauth2(user, access_token)])
        # smtplib asks for the initial response with no argument, then for an answer to each
        # challenge: after a refusal explained in a challenge, an empty one (then 535).
        conn.auth("XOAUTH2", lambda challenge=None: next(answers, ""))
        return conn
    except smtplib.SMTPAuthenticationError as exc:
        _close(conn)
        if 400 <= exc.smtp_code < 500:  # 454: a temporary authentication failure
            raise _Failed(TRANSIENT, "unavailable") from None
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise _Refused(f"{exc.smtp_code} {reply}") from None
    except (_Failed, _Refused):
        _close(conn)
        raise
    except smtplib.SMTPResponseException as exc:  # a greeting or EHLO that is not 2xx
        _close(conn)
        kind = TRANSIENT if 400 <= exc.smtp_code < 500 else OPERATOR
        raise _Failed(kind, "unavailable" if kind == TRANSIENT else "smtp_error",
                      f"the server answered {exc.smtp_code}") from None
    except OSError as exc:  # smtplib's own errors are OSErrors too (disconnected, ...)
        _close(conn)
        raise _failure(exc) from None


def _close(conn):
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


OPENERS = {IMAP: _imap, SMTP: _smtp}
