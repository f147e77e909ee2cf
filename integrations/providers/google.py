"""Google's OAuth 2.0 endpoints, shared by the Google Business Profile and Gmail providers.

Both read their client from INTEGRATIONS_PROVIDERS["google"] (one OAuth client in the Google
Cloud console serves both); INTEGRATIONS_PROVIDERS["gmail"] etc. override one of them.
"""

GOOGLE = {
    "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_url": "https://oauth2.googleapis.com/token",
    "revoke_url": "https://oauth2.googleapis.com/revoke",
    "revoke_client_auth": False,
    "userinfo_url": "https://openidconnect.googleapis.com/v1/userinfo",
    "id_field": "sub",
    "name_field": "email",
    # A refresh token comes back only with offline access, and reliably only on consent.
    "authorize_params": {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    },
}
