"""What the mail module takes from settings and declarations, and what it says without a server:
the providers' servers and scopes, the TLS it insists on, a grant that cannot do mail, a
provider that does not, the page's words, and `token_health --mail` (no Dovecot needed)."""

import ssl

import pytest
from django.core.management.base import CommandError
from django.utils import translation

from integrations import display
from integrations.errors import MAILBOX_REFUSED, ErrorKind
from integrations.mail import MailError, imap_connect, smtp_connect, tls_context
from integrations.models import IntegrationEvent
from integrations.providers import registry
from tests.helpers import configure_provider, run_command
from tests.mail.harness import MailCA, closed_port, failure_of

GRAPH = ["https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send",
         "https://graph.microsoft.com/User.Read", "offline_access"]
OUTLOOK = ["https://outlook.office.com/IMAP.AccessAsUser.All",
           "https://outlook.office.com/SMTP.Send", "offline_access"]


def test_it_declares_the_mail_servers_of_gmail_and_microsoft_365(settings):
    gmail, microsoft = registry.get("gmail"), registry.get("microsoft_mail")
    assert gmail.mail_server("imap") == ("imap.gmail.com", 993, "ssl")
    assert gmail.mail_server("smtp") == ("smtp.gmail.com", 465, "ssl")
    assert gmail.mail_scopes == ("https://mail.google.com/",)
    assert microsoft.mail_server("imap") == ("outlook.office365.com", 993, "ssl")
    assert microsoft.mail_server("smtp") == ("smtp.office365.com", 587, "starttls")
    assert microsoft.mail_scopes == tuple(OUTLOOK[:2])  # the Outlook resource, not Graph
    assert registry.get("google_business_profile").mail_server("imap")[0] == ""
    assert not registry.get("microsoft").mail  # Graph's tokens are refused by IMAP and SMTP


def test_it_takes_mail_servers_from_settings(settings):
    configure_provider(settings, "gmail", smtp_port=587, smtp_security="starttls")
    configure_provider(settings, "acme", authorize_url="https://acme.example/authorize",
                       token_url="https://acme.example/token", mail=True,
                       imap_host="imap.acme.example", mail_scopes=["mail"])
    assert registry.get("gmail").mail_server("smtp") == ("smtp.gmail.com", 587, "starttls")
    acme = registry.get("acme")
    assert acme.mail_server("imap") == ("imap.acme.example", 993, "ssl")
    assert acme.mail_scopes == ("mail",)


def test_it_refuses_a_mail_security_it_does_not_know(settings):
    configure_provider(settings, "gmail", imap_security="tls")
    with pytest.raises(registry.ProviderConfigError, match="imap_security"):
        registry.find("gmail")


def test_it_asks_for_tls_1_2_or_newer_with_the_certificate_and_host_name_checked(settings,
                                                                                tmp_path):
    context = tls_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    settings.INTEGRATIONS_MAIL_CA_FILE = str(MailCA(tmp_path).ca_file)
    assert tls_context().cert_store_stats()["x509_ca"] == 1  # that CA, and only it


def test_it_does_not_send_a_graph_grant_to_microsofts_imap(db, client, owner, make_integration):
    integration = make_integration(owner, "microsoft_mail", scopes=GRAPH,
                                   display_name="me@contoso.com")
    failure = failure_of(imap_connect, integration)  # no server is asked: none is reachable here
    assert isinstance(failure, MailError)
    assert (failure.kind, failure.code) == (MAILBOX_REFUSED, "mail_scope_missing")
    assert "IMAP.AccessAsUser.All" in failure.message
    failure_of(smtp_connect, integration)
    events = IntegrationEvent.objects.filter(integration=integration, kind="mail")
    assert list(events.values_list("outcome", "error_code")) == [("error", "mail_scope_missing")]
    client.force_login(owner)
    page = client.get("/integrations/").content.decode()
    assert "Mailbox refuses login" in page
    assert "does not cover reading and sending mail. Reconnect and allow mail access." in page


def test_it_says_so_when_a_provider_does_not_do_mail(db, owner, make_integration):
    failure = failure_of(imap_connect, make_integration(owner, "google_business_profile"))
    assert (failure.kind, failure.code) == (ErrorKind.OPERATOR, "not_a_mail_provider")


def test_it_words_each_refusal_and_says_who_acts(db, owner, make_integration):
    integration = make_integration(owner, "gmail", scopes=["https://mail.google.com/"])
    for code, words, action in [
            ("imap_refused", "refuses to let us read this mailbox (IMAP)", display.CONTACT_SUPPORT),
            ("smtp_refused", "refuses to let us send mail from this mailbox (SMTP)",
             display.CONTACT_SUPPORT),
            ("mail_scope_missing", "does not cover reading and sending mail", display.RECONNECT),
            ("tls_certificate", "configuration problem on our side", display.CONTACT_SUPPORT)]:
        IntegrationEvent.objects.record(integration.pk, "mail", "error", error_code=code)
        assert words in display.problem(integration, "Gmail")
        assert display.action(integration) == action
    IntegrationEvent.objects.record(integration.pk, "mail", "ok")
    assert display.problem(integration, "Gmail") == "" and display.action(integration) is None
    assert not display.mail_refused(integration)


def test_it_words_a_refusal_in_german(db, owner, make_integration):
    integration = make_integration(owner, "gmail", scopes=["https://mail.google.com/"])
    IntegrationEvent.objects.record(integration.pk, "mail", "error", error_code="imap_refused")
    with translation.override("de"):
        assert "IMAP" in display.problem(integration, "Gmail")
        assert "Berechtigung" in display.problem(integration, "Gmail")


def test_it_probes_only_mailboxes_and_fails_on_one_out_of_reach(transactional_db, owner,
                                                                make_integration, settings):
    settings.INTEGRATIONS_MAIL_CONNECT_ATTEMPTS = 1
    configure_provider(settings, "gmail", imap_host="127.0.0.1", imap_port=closed_port(),
                       smtp_host="")
    gmail = make_integration(owner, "gmail", scopes=["https://mail.google.com/"])
    make_integration(owner, "google_business_profile")
    code, out = run_command("token_health", "--probe", "10", "--mail")
    assert code == 1
    assert f"mail probe: integration {gmail.pk} gmail: imap connection_refused" in out
    assert "probed 1 mailboxes: ok 0, refused 0, failed 1" in out


def test_it_probes_mail_only_with_probe(db):
    with pytest.raises(CommandError, match="--mail goes with --probe N"):
        run_command("token_health", "--mail")


def test_it_says_a_ca_file_it_cannot_read_is_an_operators_problem(db, owner, make_integration,
                                                                   settings, tmp_path):
    settings.INTEGRATIONS_MAIL_CA_FILE = str(tmp_path / "missing.pem")
    configure_provider(settings, "gmail", imap_host="127.0.0.1", imap_port=closed_port())
    integration = make_integration(owner, "gmail", scopes=["https://mail.google.com/"])
    failure = failure_of(imap_connect, integration)
    assert (failure.kind, failure.code) == (ErrorKind.OPERATOR, "tls_ca_file")
