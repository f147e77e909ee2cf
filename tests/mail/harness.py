"""A real mail server for the mail tests: Dovecot (Debian's dovecot-imapd and
dovecot-submissiond) of the test's own, on loopback ports nobody else uses.

- IMAP with implicit TLS and submission with STARTTLS, a certificate from a CA generated here
  (SAN localhost and 127.0.0.1; the product is told to trust that CA only);
- logins with SASL XOAUTH2 (and OAUTHBEARER) checked by Dovecot's OAuth2 password database,
  which asks the sandbox about every token by RFC 7662 introspection (as the sandbox's OAuth
  client) and requires the Gmail scope;
- submission relays to a tiny SMTP server run here (aiosmtpd), which writes each message into
  its recipient's maildir: what is sent over SMTP is then found over IMAP.

Dovecot runs as root from a config of its own in a temp dir (run, state, logs and mail all
there), with Debian's `dovecot` and `dovenull` users for its own processes and `nobody` owning
the mailboxes.
"""

import datetime
import ipaddress
import mailbox
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import need
from tests.helpers import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_SCOPE = "https://mail.google.com/"
MAIL_USER = "nobody"  # owns the mailboxes (a uid Dovecot accepts: >= first_valid_uid)


def require_dovecot():
    """Skip (fail under CI=true) where the tests cannot run a Dovecot of their own."""
    need(os.path.exists(DOVECOT),
         "Dovecot is not installed (apt-get install -y dovecot-imapd dovecot-submissiond)")
    need(os.path.exists("/usr/lib/dovecot/imap") and os.path.exists("/usr/lib/dovecot/submission"),
         "Dovecot's IMAP and submission servers are not installed (apt-get install -y "
         "dovecot-imapd dovecot-submissiond)")
    need(os.geteuid() == 0, "the mail tests start Dovecot as root (its login processes chroot)")
    for user in ("dovecot", "dovenull", MAIL_USER):
        try:
            pwd.getpwnam(user)
        except KeyError:
            need(False, f"no {user!r} system user (Debian's dovecot-core creates dovecot and "
                        "dovenull)")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        need(False, "the aiosmtpd package is not installed (requirements-dev.txt)")


class MailCA:
    """A CA and a server certificate it signed for localhost and 127.0.0.1."""

    def __init__(self, directory: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
            ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mail tests CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                           False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
        server = (x509.CertificateBuilder()
                  .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
                  .issuer_name(ca_name).public_key(key.public_key())
                  .serial_number(x509.random_serial_number())
                  .not_valid_before(now - datetime.timedelta(minutes=5))
                  .not_valid_after(now + datetime.timedelta(days=1))
                  .add_extension(x509.SubjectAlternativeName([
                      x509.DNSName("localhost"),
                      x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                  .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                  .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                 critical=False)
                  .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                      ca_key.public_key()), critical=False)
                  .sign(ca_key, hashes.SHA256()))
        pem = serialization.Encoding.PEM
        self.ca_file = directory / "ca.pem"
        self.cert_file = directory / "server.pem"
        self.key_file = directory / "server.key"
        self.ca_file.write_bytes(ca.public_bytes(pem))
        self.cert_file.write_bytes(server.public_bytes(pem))
        self.key_file.write_bytes(key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        os.chmod(self.key_file, 0o600)


class MaildirRelay:
    """The SMTP server Dovecot's submission relays to: each message goes into the maildir of
    each recipient (the mailbox Dovecot serves them over IMAP)."""

    def __init__(self, homes: Path):
        self.homes = homes
        self.port = free_port()
        self.received = []
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    async def handle_DATA(self, server, session, envelope):
        for recipient in envelope.rcpt_tos:
            self.deliver(recipient.lower(), envelope.original_content or envelope.content)
        self.received.append(envelope)
        return "250 OK delivered"

    def deliver(self, recipient, content: bytes):
        home = self.homes / recipient
        home.mkdir(exist_ok=True)
        box = mailbox.Maildir(home / "Maildir", create=True)
        box.add(content)
        uid, gid = pwd.getpwnam(MAIL_USER).pw_uid, pwd.getpwnam(MAIL_USER).pw_gid
        for path in [home, *home.rglob("*")]:
            os.chown(path, uid, gid)

    def stop(self):
        if self.controller is not None:
            self.controller.stop()


CONFIG = """\
instance_name = {instance}
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap submission
# 127.0.0.2 too: an address the certificate does not name (the host name check's test).
listen = 127.0.0.1, 127.0.0.2
hostname = localhost
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
ssl = required
ssl_cert = <{base}/server.pem
ssl_key = <{base}/server.key
ssl_min_protocol = TLSv1.2
{dh}
disable_plaintext_auth = yes
auth_mechanisms = xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:~/Maildir
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = {submission_port}
  }}
}}
# No auth penalty (Dovecot's growing delay for an address whose logins failed): every test
# logs in from 127.0.0.1, some are refused on purpose.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
submission_relay_host = 127.0.0.1
submission_relay_port = {relay_port}
submission_relay_ssl = no
"""

OAUTH2 = """\
introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
scope = {scope}
timeout_msecs = 10000
"""


class Dovecot:
    """Dovecot on free loopback ports, validating tokens against the sandbox at
    `introspection_url` as the client (`client_id`, `client_secret`)."""

    def __init__(self, introspection_url: str, client_id: str, client_secret: str):
        require_dovecot()
        # Not under pytest's tmp_path: Dovecot's unprivileged processes must enter it.
        self.base = Path(tempfile.mkdtemp(prefix="stay-connected-mail-"))
        os.chmod(self.base, 0o755)
        self.imaps_port, self.submission_port = free_port(), free_port()
        scheme, _, rest = introspection_url.partition("://")
        self.introspection_url = f"{scheme}://{client_id}:{client_secret}@{rest}"
        self.ca = None
        self.relay = None
        self.proc = None

    @property
    def ca_file(self) -> str:
        return str(self.ca.ca_file)

    @property
    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self):
        homes = self.base / "home"
        homes.mkdir()
        entry = pwd.getpwnam(MAIL_USER)
        os.chown(homes, entry.pw_uid, entry.pw_gid)
        self.ca = MailCA(self.base)
        self.relay = MaildirRelay(homes).start()
        dh = "/usr/share/dovecot/dh.pem"
        (self.base / "oauth2.conf.ext").write_text(OAUTH2.format(
            introspection_url=self.introspection_url, scope=MAIL_SCOPE))
        os.chmod(self.base / "oauth2.conf.ext", 0o600)
        (self.base / "dovecot.conf").write_text(CONFIG.format(
            instance=f"stay-connected-mail-{os.getpid()}-{self.imaps_port}", base=self.base,
            dh=f"ssl_dh = <{dh}" if os.path.exists(dh) else "",
            mail_user=entry.pw_uid, mail_group=entry.pw_gid, imaps_port=self.imaps_port,
            submission_port=self.submission_port, relay_port=self.relay.port))
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.base / "dovecot.conf")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError(f"dovecot exited ({self.proc.returncode}): {output}\n{self.log}")
            if all(_listening(port) for port in (self.imaps_port, self.submission_port)):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen within 20 s:\n{self.log}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.relay is not None:
            self.relay.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _die_with_parent():
    """Dovecot's master gets SIGTERM when the test process dies (killed, not torn down)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _listening(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class StalledServer:
    """A port whose connections are accepted and never answered (a hung server)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    return free_port()


def failure_of(connect, integration) -> Exception:
    """The exception a login raises; its text and traceback go to the leak detector as output
    (an exception a host logs must not carry a token or an XOAUTH2 string either)."""
    import traceback

    from tests import leaks

    try:
        with connect(integration):
            pass
    except Exception as exc:
        leaks.remember_output(f"exception {type(exc).__name__}",
                              "".join(traceback.format_exception(exc)))
        return exc
    raise AssertionError("the login went through")
