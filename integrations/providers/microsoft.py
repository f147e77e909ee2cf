"""Microsoft identity platform (v2.0). INTEGRATIONS_PROVIDERS["microsoft"]["tenant"] picks the
tenant: "common" (any account, the default), "organizations", "consumers" or a tenant id."""

from django.utils.translation import gettext_noop

OPTIONS = ("tenant",)
# Microsoft's mail scopes on the Outlook resource (outlook.office.com), not Graph's.
OUTLOOK_IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"
OUTLOOK_SMTP = "https://outlook.office.com/SMTP.Send"


def declare(options):
    base = f"https://login.microsoftonline.com/{options.get('tenant') or 'common'}/oauth2/v2.0"
    return {
        "name": "Microsoft 365",
        "authorize_url": f"{base}/authorize",
        "token_url": f"{base}/token",
        # offline_access is what makes Microsoft issue a refresh token.
        "scopes": ("offline_access", "User.Read", "Mail.ReadWrite", "Mail.Send"),
        "required_scopes": ("Mail.ReadWrite", "Mail.Send"),
        "scope_prefix": "https://graph.microsoft.com/",
        "userinfo_url": "https://graph.microsoft.com/v1.0/me",
        "id_field": "id",
        "name_field": "userPrincipalName",
        # Microsoft rotates refresh tokens on every refresh; it has no revocation endpoint.
        "rotates_refresh_tokens": True,
        "description": gettext_noop("Outlook mail through Microsoft Graph."),
    }
