from django.utils.translation import gettext_noop

from .google import GOOGLE

FAMILY = "google"


def declare(options):
    return {
        **GOOGLE,
        "name": "Gmail",
        "scopes": ("https://mail.google.com/", "openid", "email"),
        "required_scopes": ("https://mail.google.com/",),
        "mail": True,
        # Implicit TLS on both (RFC 8314); smtp.gmail.com also takes STARTTLS on 587.
        "imap_host": "imap.gmail.com",
        "imap_port": 993,
        "imap_security": "ssl",
        "smtp_host": "smtp.gmail.com",
        "smtp_port": 465,
        "smtp_security": "ssl",
        "mail_scopes": ("https://mail.google.com/",),
        "description": gettext_noop("Read and send mail over IMAP/SMTP (XOAUTH2)."),
    }
