"""What a provider is: mostly data. Settings can override any field or declare a new provider."""

import re
from dataclasses import dataclass, field, fields

# Values pasted from documentation rather than a console: `...` (Ellipsis), "changeme",
# "<client id>", "your-client-id", "xxx", "TODO", the .env.example placeholders. Never a real
# client id or secret; the checks say so and such a provider is not offered.
PLACEHOLDER = re.compile(
    r"\s*(\.\.\.|…|<[^>]*>|\{[^}]*\}|x+|todo|tbd|none|null|changeme|change[-_ ]me.*|replace[-_ ]?me.*|"
    r"your[-_ ].*|example.*|dummy.*|placeholder.*|secret|client[-_ ]?(id|secret))\s*",
    re.IGNORECASE)


def is_placeholder(value) -> bool:
    """True for a value that cannot be a real credential: not a string, or a placeholder."""
    if value is None or value == "":
        return False  # unset is not a placeholder: the provider is simply not configured
    return not isinstance(value, str) or PLACEHOLDER.fullmatch(value) is not None


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    authorize_url: str
    token_url: str
    client_id: str = ""
    client_secret: str = ""
    # "post": client_id/client_secret in the form body; "basic": HTTP Basic authentication.
    client_auth: str = "post"
    scopes: tuple[str, ...] = ()
    # Scopes without which the integration is useless; a grant lacking one is not activated.
    required_scopes: tuple[str, ...] = ()
    # A prefix some providers put on granted scopes (Microsoft Graph), ignored when comparing.
    scope_prefix: str = ""
    authorize_params: dict = field(default_factory=dict)
    pkce: bool = True
    revoke_url: str = ""
    # RFC 7009 servers authenticate the client on revocation; Google's endpoint takes none.
    revoke_client_auth: bool = True
    userinfo_url: str = ""
    # Which userinfo JSON fields are the account id and its display name.
    id_field: str = "sub"
    name_field: str = "email"
    # Where the account's identity is read at connect: "userinfo" (userinfo_url, with the new
    # access token) or "id_token" (the OpenID Connect ID token of the token answer: for a token
    # whose resource cannot call a userinfo endpoint, like Microsoft's Outlook-resource tokens).
    identity_source: str = "userinfo"
    # Providers such as Microsoft rotate the refresh token on every refresh.
    rotates_refresh_tokens: bool = False
    # A refresh token that dies unused (Microsoft: 90 days of inactivity; Google: six months):
    # the proactive run also renews an active credential not refreshed for this many days, even
    # when its access token lives longer than the run's window (0: never on age alone).
    max_idle_days: int = 0
    # Just-in-time window for this provider, seconds (0: INTEGRATIONS_REFRESH_BUFFER_SECONDS),
    # for providers that refuse to refresh a token still valid for longer.
    refresh_buffer_seconds: int = 0
    # What the provider's tokens are good for in this product.
    syncs: str = ""  # "gbp": Google Business Profile sync
    mail: bool = False  # IMAP/SMTP over SASL XOAUTH2
    # Its mail servers (integrations.mail): host, port and "ssl" (implicit TLS) or "starttls".
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "ssl"
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: str = "ssl"
    # The XOAUTH2 user: the integration's field holding the mailbox's address.
    mail_user_field: str = "display_name"
    # Scopes a token must carry for IMAP and SMTP (Microsoft's are on the Outlook resource,
    # not Graph's): a grant without them is not sent to the mail servers.
    mail_scopes: tuple[str, ...] = ()
    api_base_url: str = ""
    description: str = ""

    @property
    def configured(self) -> bool:
        """Offered to users: a client id and endpoints, and no placeholder among them."""
        return bool(self.client_id and self.authorize_url and self.token_url) and not (
            is_placeholder(self.client_id) or is_placeholder(self.client_secret))

    def normalize_scope(self, scope: str) -> str:
        if self.scope_prefix and scope.startswith(self.scope_prefix):
            return scope[len(self.scope_prefix):]
        return scope

    def missing_scopes(self, granted) -> list[str]:
        have = {self.normalize_scope(s) for s in granted}
        return [s for s in self.required_scopes if self.normalize_scope(s) not in have]

    def mail_server(self, protocol: str) -> tuple[str, int, str]:
        """(host, port, security) of its "imap" or "smtp" server; host "" when none is declared."""
        return (getattr(self, f"{protocol}_host"), getattr(self, f"{protocol}_port"),
                getattr(self, f"{protocol}_security"))

    def __repr__(self):  # never print the client secret
        return f"<Provider {self.id}>"


FIELD_NAMES = {f.name for f in fields(Provider)}
MAIL_SECURITY = ("ssl", "starttls")
