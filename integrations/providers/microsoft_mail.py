"""Microsoft 365 mailboxes over IMAP and SMTP (XOAUTH2). IMAP and SMTP AUTH take tokens for the
Outlook resource only (a Graph token is refused), and one token is for one resource: so this is a
provider of its own beside `microsoft` (Graph), sharing its client and tenant
(INTEGRATIONS_PROVIDERS["microsoft"]). An Outlook-resource token cannot call Graph's /me: the
account is read from the ID token of the token answer (`openid`, `email`, `profile`)."""

from django.utils.translation import gettext_noop

from .microsoft import declare as declare_microsoft

FAMILY = "microsoft"
OPTIONS = ("tenant",)
# Microsoft's mail scopes on the Outlook resource (outlook.office.com), not Graph's.
OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
OUTLOOK_SMTP = "https://outlook.office.com/SMTP.Send"


def declare(options):
    graph = declare_microsoft(options)
    return {
        "name": "Microsoft 365 mailbox",
        "authorize_url": graph["authorize_url"],
        "token_url": graph["token_url"],
        "scopes": ("offline_access", "openid", "email", "profile", OUTLOOK_IMAP, OUTLOOK_SMTP),
        "required_scopes": (OUTLOOK_IMAP, OUTLOOK_SMTP),
        "identity_source": "id_token",
        # The account: its object id in the tenant, named by its sign-in address.
        "id_field": "oid",
        "name_field": "preferred_username",
        "rotates_refresh_tokens": True,
        "mail": True,
        "imap_host": "outlook.office365.com",
        "imap_port": 993,
        "imap_security": "ssl",
        "smtp_host": "smtp.office365.com",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "mail_scopes": (OUTLOOK_IMAP, OUTLOOK_SMTP),
        "description": gettext_noop("Outlook mail over IMAP and SMTP (XOAUTH2)."),
    }
