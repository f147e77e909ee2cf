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
        "description": gettext_noop("Read and send mail over IMAP/SMTP (XOAUTH2)."),
    }
